"""After training: rebuild a model from its checkpoint to evaluate it, predict with it, or export it."""
