package sqlstore

// FlushQueries are pendingWrites' statements, for their query plan's test.
var FlushQueries = []string{flushSeqsQuery, flushReadsQuery}

// WriterAutoCheckpoint is the WAL size (pages) at which the writer
// checkpoints, for the checkpointer's test.
const WriterAutoCheckpoint = writerAutoCheckpoint
