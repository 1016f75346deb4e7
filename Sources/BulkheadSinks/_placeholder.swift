enum _BulkheadSinks {}
