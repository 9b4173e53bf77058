"""An example selftaught plugin: the `canned` model kind and the `number_partition` task."""
