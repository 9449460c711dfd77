package huawei

import (
	"net/http"
	"strconv"
)

// Paging helpers the VPCEP resources share (endpointservice.go, endpoint.go, ...).
// pageParams reads limit (default 10, at most 1000) and offset.
func pageParams(r *http.Request) (limit, offset int) {
	limit, offset = 10, 0
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 {
		limit = v
	}
	if limit > 1000 {
		limit = 1000
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("offset")); err == nil && v >= 0 {
		offset = v
	}
	return limit, offset
}

func page[T any](list []T, limit, offset int) []T {
	if offset >= len(list) {
		return []T{}
	}
	end := offset + limit
	if end > len(list) {
		end = len(list)
	}
	return list[offset:end]
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
