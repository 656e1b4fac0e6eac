// Package app is the bootstrap every campaign-live service shares: reading
// configuration from the environment, the JSON logger, the ops endpoints
// (/healthz, /readyz) and running servers until a signal, then shutting them
// down under a deadline.
//
// A service's main builds its dependencies from the inside out, adds each
// long-running part to a Group and calls Wait; the first part to fail, or
// SIGTERM/SIGINT, cancels the others.
package app
