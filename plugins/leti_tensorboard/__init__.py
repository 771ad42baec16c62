"""The `tensorboard` logger (plugin `tensorboard`): run metrics as TensorBoard scalars, and wandb."""
