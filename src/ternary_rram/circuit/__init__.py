"""Circuit layer: MOSFET compact model, the precharge sense amplifier, its ngspice reference, the sense map."""
