// Command chaos breaks the running campaign-live system on purpose and
// checks that no watcher loses or reorders an event of its campaign.
//
// It drives the real processes: the services started by scripts/run.sh,
// Postgres and Kafka started by scripts/stack/*.sh, and extra fanout and
// gateway processes of its own (bin/fanout, bin/gateway) on ports that do
// not clash with the standard ones (282xx, 281xx, 291xx by default; see
// -port-base), checked free before use. For each case it
// creates fresh campaigns, opens watchers over them through a gateway,
// writes contributions and comments through the REST API at a bounded rate,
// injects the fault while the writes are in flight, restores the system,
// waits until every watcher has caught up (or a deadline), and compares:
//
//   - written: events the REST API accepted (201), matched by type and id;
//   - delivered: (event, watcher) pairs received as event messages;
//   - lost: expected pairs never received (a mid-stream campaign_data that
//     folds events into a snapshot counts them as lost);
//   - reordered: an event whose cursor is below the last one received and
//     was never received before;
//   - duplicates: an event received again with its same cursor (which a
//     client drops); the same event under another cursor is a "bad dup".
//
// Watchers behave like the browser client: on any close they reconnect
// with since=<last cursor>, after a jittered backoff, to the next gateway in
// their list.
//
// Cases: 1 kill -9 fanout and restart it; 2 a second fanout in the group,
// killed (its partitions move back); 3 Kafka down for 10 s; 4 Postgres
// restarted; 5 SIGTERM of a gateway holding 1,000+ sockets, which reconnect
// to another gateway; 6 a slow reader among fast ones (closed 1013, resumes).
//
// Everything is bounded in count and time, on loopback. The program raises
// its own open-file limit, stops what it started, and exits non-zero if
// any case lost or reordered an event. Run it through scripts/chaos.sh.
package main
