"""Array layer: 2T2R arrays that store weights as device pairs and read them through sense amplifiers."""
