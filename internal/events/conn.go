package events

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/footlight/footlight/internal/stage"
)

// conn is one upgraded events connection. Its run goroutine alone writes messages; a reader
// goroutine answers nothing itself but hands PINGs over; a pinger keeps the peer honest.
type conn struct {
	ws           *websocket.Conn
	log          *slog.Logger
	stageID      string
	member       Member
	snapshot     []stage.ParticipantView
	changes      <-chan stage.Change
	stopWatch    func()
	kick         *kick
	pingInterval time.Duration

	pings    chan struct{} // a client PING, each owed one PONG by the writer
	readDone chan struct{} // closed by the reader when it ends: the peer closed or reading failed
	readErr  error         // why the reader ended; read only after readDone
	ignored  int           // client messages that were not PING; the reader's, read after readDone
	peerDead chan struct{} // closed by the pinger when a ping went unanswered
	pingErr  error         // why; read only after peerDead
	sent     int           // messages written; the writer's
}

// ending says how a connection ends and what to tell the client.
type ending struct {
	msg       string               // for the log
	handshake bool                 // send a close frame with code and reason; false drops the connection
	code      websocket.StatusCode // sent, or the client's when it closed
	reason    string
	err       error
}

// run serves the connection until it ends, then stops the watch and leaves the stage. It
// returns when the goroutines it started have ended.
func (c *conn) run(shutdown <-chan struct{}) {
	started := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { c.readLoop(ctx) }) // stopped by the websocket closing below, or by cancel
	wg.Go(func() { c.pingLoop(ctx) }) // stopped by cancel

	end := c.writeLoop(shutdown)
	c.stopWatch()
	if end.handshake {
		_ = c.ws.Close(end.code, end.reason) // the library bounds the handshake (5 s to write, 5 s for the answer)
	} else {
		_ = c.ws.CloseNow()
	}
	cancel()
	wg.Wait()
	leave(c.member)

	attrs := []any{"sent", c.sent, "ignored", c.ignored, "duration", time.Since(started).Round(time.Millisecond)}
	if end.code != 0 {
		attrs = append(attrs, "code", int(end.code))
	}
	if end.reason != "" {
		attrs = append(attrs, "reason", end.reason)
	}
	if end.err != nil {
		attrs = append(attrs, "err", end.err)
	}
	c.log.Info(end.msg, attrs...)
}

// writeLoop sends STAGE_STATE, then every change and PONG, until something ends the
// connection.
func (c *conn) writeLoop(shutdown <-chan struct{}) ending {
	msg, err := encodeStageState(c.stageID, c.snapshot)
	if err == nil {
		err = c.write(msg)
	}
	if err != nil {
		return ending{msg: "events write failed", err: err}
	}
	deleted := false // a STAGE_DELETED went out: a closed watch means the stage is gone
	for {
		select {
		case <-shutdown:
			return ending{msg: "events closed by shutdown", handshake: true, code: CloseShutdown, reason: ReasonShutdown}
		case <-c.kick.done:
			// The stage usually queues the change that explains a kick (LEFT, STAGE_DELETED)
			// just before it; send what is queued so the client sees why.
			if err := c.drain(); err != nil {
				return ending{msg: "events write failed", err: err}
			}
			return ending{msg: "events kicked", handshake: true, code: kickCode(c.kick.reason), reason: c.kick.reason}
		case <-c.readDone:
			if code := websocket.CloseStatus(c.readErr); code != -1 {
				return ending{msg: "events closed by client", code: code} // the library answered it
			}
			return ending{msg: "events read failed", err: c.readErr}
		case <-c.peerDead:
			return ending{msg: "events peer unresponsive", err: c.pingErr}
		case <-c.pings:
			if err := c.write(pongMessage); err != nil {
				return ending{msg: "events write failed", err: err}
			}
		case ch, ok := <-c.changes:
			if !ok && deleted {
				return ending{msg: "events stage deleted", handshake: true, code: CloseStageDeleted, reason: stage.ReasonStageDeleted}
			}
			if !ok {
				return ending{msg: "events lagged", handshake: true, code: CloseLagged, reason: ReasonLagged}
			}
			deleted = deleted || ch.Type == stage.ChangeStageDeleted
			if err := c.writeChange(ch); err != nil {
				return ending{msg: "events write failed", err: err}
			}
		}
	}
}

// drain writes the changes already queued, without waiting for more.
func (c *conn) drain() error {
	for n := len(c.changes); n > 0; n-- {
		ch, ok := <-c.changes
		if !ok {
			return nil
		}
		if err := c.writeChange(ch); err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) writeChange(ch stage.Change) error {
	msg, err := encodeChange(c.stageID, ch)
	if err != nil {
		return err
	}
	return c.write(msg)
}

// write sends one text message; past writeTimeout the library closes the connection, which
// ends it.
func (c *conn) write(msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	c.sent++
	return nil
}

// readLoop reads client messages, handing each PING to the writer and ignoring the rest. The
// library answers control frames (pings, close) while it reads.
func (c *conn) readLoop(ctx context.Context) {
	defer close(c.readDone)
	for {
		_, msg, err := c.ws.Read(ctx)
		if err != nil {
			c.readErr = err
			return
		}
		if !isPing(msg) {
			c.ignored++
			continue
		}
		select {
		case c.pings <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
}

// pingLoop pings the peer every pingInterval and reports it dead when a pong takes longer.
func (c *conn) pingLoop(ctx context.Context) {
	t := time.NewTicker(c.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pingCtx, cancel := context.WithTimeout(ctx, c.pingInterval)
		err := c.ws.Ping(pingCtx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.pingErr = err
				close(c.peerDead)
			}
			return
		}
	}
}
