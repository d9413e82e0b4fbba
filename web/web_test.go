package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fanout-go/fanout/web"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHandlerServesScript(t *testing.T) {
	want, err := os.ReadFile("fanout.js")
	require.NoError(t, err)

	srv := httptest.NewServer(web.Handler())
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/fanout.js")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())

	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.Equal(t, string(want), string(body))
	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)

	t.Run("revalidation", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/fanout.js", nil)
		require.NoError(t, err)
		req.Header.Set("If-None-Match", etag)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusNotModified, resp.StatusCode)
	})

	t.Run("head", func(t *testing.T) {
		resp, err := http.Head(srv.URL + "/fanout.js")
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	})

	t.Run("post", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/fanout.js", "text/plain", nil)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, "GET, HEAD", resp.Header.Get("Allow"))
	})
}

func TestScriptExports(t *testing.T) {
	src, err := os.ReadFile("fanout.js")
	require.NoError(t, err)
	for _, name := range []string{"export class FanoutClient", "export const State", "export function encodeCursor"} {
		assert.Contains(t, string(src), name)
	}
}
