"""Neural-network layer: quantizers, quantized layers, models, data, training."""
