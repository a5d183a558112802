// Package recordlog frames the records of hotfix's private cache files
// (a channel's .catalog, .repodata.cache and .repodata.gz): a record is
// its uvarint length, the CRC-32 of its body and the body, so a reader
// stops at the first torn or damaged record and keeps what came before.
// The fields inside a body are uvarint-length strings and varints.
package recordlog
