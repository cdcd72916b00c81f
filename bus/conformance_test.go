package bus_test

import (
	"testing"

	"github.com/parleychat/parley/bus"
	"github.com/parleychat/parley/chat"
	"github.com/parleychat/parley/chattest"
)

// TestConformance runs the chat.Bus suite; the memory bus is one node, so
// the multi-node subtests skip.
func TestConformance(t *testing.T) {
	chattest.TestBus(t, func(t *testing.T, n int) []chat.Bus {
		return []chat.Bus{bus.New()}
	})
}
