"""One module per command: ``run(opts, **options) -> exit code``, imported only when it runs."""
