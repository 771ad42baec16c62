"""Event argument extraction as code generation (plugin `eae`): tasks `eae`, `eae-sample`, environment `eae`."""
