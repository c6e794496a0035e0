"""The checks after the model, one small module per check or small family; pipeline.PIPELINE orders them."""
