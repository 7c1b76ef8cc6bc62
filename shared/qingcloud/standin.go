package qingcloud

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"time"
)

// StandIn answers DescribeZones like the real service, checking the
// signature, for tests: the real QingCloud API is out of reach here.
type StandIn struct {
	*httptest.Server
	calls atomic.Int64
}

// NewStandIn serves zones (zone id -> status) to the one access key it knows.
func NewStandIn(accessKeyID, secret string, zones map[string]string) *StandIn {
	s := &StandIn{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		answer := func(v map[string]any) { _ = json.NewEncoder(w).Encode(v) }
		fail := func(code int, msg string) { answer(map[string]any{"ret_code": code, "message": msg}) }
		q := r.URL.Query()
		if q.Get("action") == "DescribeZones" {
			s.calls.Add(1)
		}
		ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("time_stamp"))
		switch {
		case r.Method != http.MethodGet || q.Get("action") != "DescribeZones":
			fail(1400, "only GET DescribeZones is served")
		case q.Get("signature_method") != "HmacSHA256" || q.Get("signature_version") != "1" || q.Get("version") != "1":
			fail(1400, "bad signature_method, signature_version or version")
		case err != nil || time.Since(ts).Abs() > 5*time.Minute:
			fail(1400, "time_stamp missing or expired")
		case q.Get("access_key_id") != accessKeyID:
			fail(1200, "access key not found")
		case subtle.ConstantTimeCompare([]byte(Sign(r.Method, r.URL.Path, q, secret)), []byte(q.Get("signature"))) != 1:
			fail(1100, "signature not matched")
		default:
			ids := make([]string, 0, len(zones))
			for id := range zones {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			set := make([]map[string]string, 0, len(ids))
			for _, id := range ids {
				set = append(set, map[string]string{"zone_id": id, "status": zones[id]})
			}
			answer(map[string]any{"action": "DescribeZonesResponse", "ret_code": 0, "zone_set": set, "total_count": len(set)})
		}
	}))
	return s
}

// Calls counts the DescribeZones requests the stand-in got, valid or not.
func (s *StandIn) Calls() int { return int(s.calls.Load()) }
