package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ferrygw/ferry/internal/anthropic"
	"github.com/ferrygw/ferry/internal/apierr"
)

// listModels serves GET /v1/models (paged like the API: limit, after_id,
// before_id) and GET /v1/models/{id}.
func (s *Server) listModels(x *exchange, r *http.Request) {
	models := s.visibleModels(x)
	if id, ok := strings.CutPrefix(r.URL.Path, "/v1/models/"); ok {
		if !slices.Contains(models, id) {
			s.fail(x, apierr.New(apierr.NotFound, "model: %s", id))
			return
		}
		b, _ := json.Marshal(s.modelInfo(id))
		writeJSON(x, http.StatusOK, b)
		return
	}
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(x, apierr.New(apierr.InvalidRequest, "limit: must be an integer between 1 and 1000"))
			return
		}
		limit = n
	}
	ids := models
	after, ok := s.pageCursor(x, ids, q, "after_id")
	if !ok {
		return
	}
	ids = ids[after+1:] // all of them without after_id (-1)
	before, ok := s.pageCursor(x, ids, q, "before_id")
	if !ok {
		return
	}
	fromEnd := before >= 0
	if fromEnd {
		ids = ids[:before]
	}
	more := len(ids) > limit
	if more {
		if fromEnd {
			ids = ids[len(ids)-limit:]
		} else {
			ids = ids[:limit]
		}
	}
	page := anthropic.ModelList{Data: make([]anthropic.ModelInfo, 0, len(ids)), HasMore: more}
	for _, id := range ids {
		page.Data = append(page.Data, s.modelInfo(id))
	}
	if len(ids) > 0 {
		page.FirstID, page.LastID = &ids[0], &ids[len(ids)-1]
	}
	b, _ := json.Marshal(page)
	writeJSON(x, http.StatusOK, b)
}

// visibleModels is the models list a key's model scope allows.
func (s *Server) visibleModels(x *exchange) []string {
	if x.ident == nil || len(x.ident.Models) == 0 {
		return s.models
	}
	var out []string
	for _, m := range s.models {
		if x.ident.AllowModel(m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) modelInfo(id string) anthropic.ModelInfo {
	return anthropic.ModelInfo{Type: "model", ID: id, DisplayName: id, CreatedAt: s.modelsCreated}
}

// pageCursor is the index in ids of the model the query's param names (-1:
// the param is absent). ok is false, the error answered, when the model is
// not in ids.
func (s *Server) pageCursor(x *exchange, ids []string, q url.Values, param string) (i int, ok bool) {
	id := q.Get(param)
	if id == "" {
		return -1, true
	}
	if i = slices.Index(ids, id); i < 0 {
		s.fail(x, apierr.New(apierr.InvalidRequest, "%s: unknown model %s", param, id))
		return 0, false
	}
	return i, true
}
