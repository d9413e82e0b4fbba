module github.com/fanout-go/fanout

go 1.25.0
