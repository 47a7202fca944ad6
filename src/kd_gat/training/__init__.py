"""Lightning training of the graph models: data module, modules, losses, callbacks, trainer."""
