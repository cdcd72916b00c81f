package sqlstore

// FlushQueries are pendingWrites' statements, for their query plan's test.
var FlushQueries = []string{flushSeqsQuery, flushReadsQuery}
