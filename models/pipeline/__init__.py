"""The offline pipeline (`python -m models build`): one module per step, each a function
of a :class:`models.pipeline.steps.BuildContext`."""
