package sqlstore

// OpenPostgresAnswerTimeout is OpenPostgres with another answer timeout
// (postgresAnswerTimeout), for the tests of a server that stops answering.
var OpenPostgresAnswerTimeout = openPostgres
