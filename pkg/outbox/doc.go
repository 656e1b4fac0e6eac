// Package outbox implements the transactional outbox every writing service
// uses: Write and One.Write write a service's row and its event together,
// Enqueue adds an event in a transaction of the caller's, and a Relay
// publishes committed events to Kafka.
//
// # Guarantees
//
// An event is enqueued in the same Postgres transaction as the row it
// describes, so it exists if and only if the row does. The relay deletes a
// row only after the broker acknowledged it (acks=all); a crash in between
// publishes it again, so delivery is at least once and consumers deduplicate
// by event id.
//
// # Concurrency
//
// Every replica of a service runs a Relay, but only the one holding the
// service's Postgres advisory lock publishes; the others wait to take over.
// The lock is held by a dedicated connection that also LISTENs on the
// `outbox` channel: a NOTIFY sent after each write's commit (notify.go)
// wakes the leader, and a poll interval bounds the wait if a notification is
// lost. If that
// connection dies the lock is gone too, and the relay stops publishing before
// trying to lead again.
//
// The leader publishes in id order, in batches. Ids are taken at insert and
// can commit out of order, so two concurrent transactions of one campaign may
// publish in commit order rather than id order; each still lands in the
// campaign's partition, where its order is the order everyone sees.
package outbox
