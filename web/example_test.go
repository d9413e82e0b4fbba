package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/fanout-go/fanout/web"
)

// Mount the browser client next to the application's pages, so that a page
// can `import { FanoutClient } from '/fanout.js'`.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /fanout.js", web.Handler())

	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/fanout.js")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output: 200 text/javascript; charset=utf-8
}
