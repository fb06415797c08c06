// Package backend is the CLI's view of the running box: System implements
// cli.System over the commit pipeline, the configuration store, the
// firmware slots and the kernel, and Dataplane holds the firewall and the
// IKE daemon and maps what they report (sessions, hit counts, IKE and
// IPsec SAs, ESP counters) into the CLI's values. The data of every show
// command comes from here; its layout is the CLI's (firmware/cli).
//
// It applies nothing: configurations reach the kernel only through the
// pipeline (firmware/commit), whose stages backend hands over.
package backend
