package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pion/logging"
)

// pionLogs bridges pion's leveled loggers to slog. Only pion's warnings and errors pass, both
// at Warn: pion reports protocol trouble it handled, which is not for an operator to act on.
// Messages every connection produces as it starts or closes go to Debug.
type pionLogs struct{ log *slog.Logger }

// NewLogger implements logging.LoggerFactory.
func (f pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope)}
}

// routine lists fragments of pion warnings that are part of every connection's life: ICE
// checks before the client's candidates arrive, reads cut by close, and receiver reports
// from SSRCs the SFU does not receive on.
var routine = []string{
	"without candidate pairs",
	"closed pipe",
	"use of closed network connection",
	"already closed",
	"Incoming unhandled RTCP",
}

// pionLogger is one pion scope's logger.
type pionLogger struct{ log *slog.Logger }

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}
func (pionLogger) Info(string)           {}
func (pionLogger) Infof(string, ...any)  {}

func (l pionLogger) Warn(msg string)                { l.emit(msg) }
func (l pionLogger) Warnf(f string, a ...any)       { l.emit(fmt.Sprintf(f, a...)) }
func (l pionLogger) Error(msg string)               { l.emit(msg) }
func (l pionLogger) Errorf(format string, a ...any) { l.emit(fmt.Sprintf(format, a...)) }

func (l pionLogger) emit(msg string) {
	level := slog.LevelWarn
	for _, r := range routine {
		if strings.Contains(msg, r) {
			level = slog.LevelDebug
			break
		}
	}
	l.log.Log(context.Background(), level, msg) // pion passes no context
}
