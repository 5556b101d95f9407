"""Built-in job executors."""
