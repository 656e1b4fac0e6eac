package kafkax

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// Fetcher is the part of *kafka.Reader that reads records.
type Fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
}

// Fetched is a record and when the reader returned it.
type Fetched struct {
	kafka.Message
	At time.Time
}

// FetchInto moves records from r to out until ctx ends (it returns nil) or
// r is closed (it returns an error). A consumer reads ahead this way while
// it applies what was fetched before, and takes batches with Collect. A
// failed fetch (the broker restarting, the group coordinator moving) is
// logged and retried with backoff doubling up to retryMax: the reader
// heals by itself, and the service outlives its broker's restarts.
func FetchInto(ctx context.Context, r Fetcher, out chan<- Fetched, retryMax time.Duration, log *slog.Logger) error {
	wait := 100 * time.Millisecond
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("fetch: reader closed: %w", err)
			}
			log.Warn("fetch failed, retrying", "retry_in", wait.String(), "err", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, retryMax)
			continue
		}
		wait = 100 * time.Millisecond
		select {
		case out <- Fetched{m, time.Now()}:
		case <-ctx.Done():
			return nil
		}
	}
}

// Collect appends to batch the next record from queue, waiting for it, and
// then every record already queued, up to max, without waiting for more:
// batches grow with the load, and a lone record goes at once. It reports
// false when ctx ended or the queue was closed before a record came.
func Collect(ctx context.Context, queue <-chan Fetched, batch []Fetched, max int) ([]Fetched, bool) {
	select {
	case m, ok := <-queue:
		if !ok {
			return batch, false
		}
		batch = append(batch, m)
	case <-ctx.Done():
		return batch, false
	}
	for len(batch) < max {
		select {
		case m, ok := <-queue:
			if !ok {
				return batch, true // the next Collect reports the end
			}
			batch = append(batch, m)
		default:
			return batch, true
		}
	}
	return batch, true
}
