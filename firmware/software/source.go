package software

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// OpenBundle opens the bundle `request system software add SOURCE` names: an http:// or https:// URL
// (fetched with client; nil means http.DefaultClient) or a file on the box. The bundle streams into the
// slot; it is never stored whole.
func OpenBundle(ctx context.Context, client *http.Client, source string) (io.ReadCloser, error) {
	if !strings.HasPrefix(source, "http://") && !strings.HasPrefix(source, "https://") {
		f, err := os.Open(source)
		if err != nil {
			return nil, fmt.Errorf("opening bundle: %w", err)
		}
		return f, nil
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching bundle: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching bundle: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("fetching bundle %s: %s", source, resp.Status)
	}
	return resp.Body, nil
}
