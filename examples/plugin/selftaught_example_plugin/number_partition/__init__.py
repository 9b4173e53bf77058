"""The task's files, read as text: the seed solution and the utility shown to the model."""
