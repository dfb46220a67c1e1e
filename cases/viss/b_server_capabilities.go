package visscases

import (
	"fmt"
	"slices"
)

// 002 B Server Capabilities and C Data Compression.
func init() {
	add(&specDef{
		topic: "server-tree",
		// "When a client has obtained the information how to connect to the server, then the server MUST respond to read requests for data from the Server tree." / 10: "Access control SHALL not be applied to [...] client requests for dynamic metadata about the server capabilities"
		v3:     &clause{"B", "When a client has obtained the information how to connect to the server, then the server MUST respond to read requests for data from the Server tree."},
		text:   "reads of Server.Support.Protocol and Server.Support.Filter without a token list ws (and mqtt with an MQTT endpoint) and the mandatory filters timebased and change",
		quirks: []string{"no-server-tree", "server-tree-protected"},
		body: func(t *T) {
			c := t.dial()
			protocols := []string{"ws"}
			if t.ep.MQTT != nil {
				protocols = append(protocols, "mqtt")
			}
			for _, q := range []struct {
				path string
				want []string
			}{{"Server.Support.Protocol", protocols}, {"Server.Support.Filter", []string{"timebased", "change"}}} {
				m := t.get(c, q.path, nil)
				v, _, ok := t.single(m)
				list, _ := v.([]any)
				for _, w := range q.want {
					t.check(ok && slices.Contains(list, any(w)), fmt.Sprintf("%s lists %v (register I-281)", q.path, q.want), string(m.Raw))
				}
			}
		},
	}, &specDef{
		topic: "dc",
		// "If a client request for data compression is not supported, or impossible to realize, the server shall respond with an error message."
		v3:     &clause{"C", "If a client request for data compression is not supported, or impossible to realize, the server shall respond with an error message."},
		text:   "a get asking for a data compression the Server tree does not declare is refused",
		quirks: []string{"dc-ignored"},
		body: func(t *T) {
			c := t.dial()
			// A server without data compression may have no such node.
			m := t.get(c, "Server.Support.DataCompression", nil)
			if v, _, ok := t.single(m); ok {
				if list, _ := v.([]any); len(list) > 0 {
					t.skip(fmt.Sprintf("the server declares data compression %v; only the refusal of an unsupported one is judged (register I-281)", list))
				}
			}
			m, what := t.provoke("unsupported-dc")
			t.expectSituation(m, "unsupported-dc", what)
		},
	})
}
