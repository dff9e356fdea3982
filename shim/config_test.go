package shim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseEnv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Config
		bad  string // key named in the error
	}{
		{in: "dir=/tmp/x", want: Config{Dir: "/tmp/x"}},
		{in: " dir = /tmp/x , ", want: Config{Dir: "/tmp/x"}},
		{in: "dir=d,threshold=5ms,jsonl=1,sample=2s,maxfile=64MB,maxtotal=1GB,budget=5%,interval=250ms",
			want: Config{Dir: "d", Threshold: 5 * time.Millisecond, JSONL: true, Sample: 2 * time.Second, MaxFile: 64 << 20, MaxTotal: 1 << 30, Budget: 0.05, Interval: 250 * time.Millisecond}},
		{in: "dir=d,maxfile=512KiB,maxtotal=3M", want: Config{Dir: "d", MaxFile: 512 << 10, MaxTotal: 3 << 20}},
		{in: "dir=d,maxfile=4096", want: Config{Dir: "d", MaxFile: 4096}},
		{in: "dir=d,maxfile=2gib", want: Config{Dir: "d", MaxFile: 2 << 30}},
		{in: "dir=d,sample=0", want: Config{Dir: "d", Sample: -1}},
		{in: "dir=d,sample=off", want: Config{Dir: "d", Sample: -1}},
		{in: "dir=d,jsonl=false", want: Config{Dir: "d"}},
		{in: "dir=d,jsonl=on", want: Config{Dir: "d", JSONL: true}},
		{in: "dir=d,dumps=1", want: Config{Dir: "d", Dumps: true}},
		{in: "dir=d,dumps=2", bad: "dumps"},
		{in: "dir=d,leakprofile=30s", want: Config{Dir: "d", LeakProfile: 30 * time.Second}},
		{in: "dir=d,leakprofile=off", want: Config{Dir: "d", LeakProfile: -1}},
		{in: "dir=d,leakprofile=0", want: Config{Dir: "d", LeakProfile: -1}},
		{in: "dir=d,leakprofile=100ms", bad: "leakprofile"},
		{in: "dir=d,leakprofile=soon", bad: "leakprofile"},
		{in: "dir=d,parser=exp", want: Config{Dir: "d", Parser: "exp"}},
		{in: "dir=d,parser=fast", want: Config{Dir: "d", Parser: "fast"}},
		{in: "dir=d,parser=x", bad: "parser"},
		{in: "dir=d,stoptimeout=30s", want: Config{Dir: "d", StopTimeout: 30 * time.Second}},
		{in: "dir=d,stoptimeout=0", bad: "stoptimeout"},
		{in: "dir=d,budget=0.2", want: Config{Dir: "d", Budget: 0.2}},
		{in: "dir=d,budget=0.5%", want: Config{Dir: "d", Budget: 0.005}},
		{in: "dir=d,budget=none", want: Config{Dir: "d", Budget: -1}},
		{in: "dir=d,budget=off", want: Config{Dir: "d", Budget: -1}},
		{in: "dir=d,budget=100%", want: Config{Dir: "d", Budget: -1}},
		{in: "", bad: "dir"},
		{in: "threshold=1ms", bad: "dir"},
		{in: "dir=", bad: "dir"},
		{in: "dir=d,bogus=1", bad: "bogus"},
		{in: "dir=d,threshold", bad: "threshold"},
		{in: "dir=d,threshold=fast", bad: "threshold"},
		{in: "dir=d,threshold=0", bad: "threshold"},
		{in: "dir=d,threshold=-1ms", bad: "threshold"},
		{in: "dir=d,jsonl=maybe", bad: "jsonl"},
		{in: "dir=d,sample=1", bad: "sample"},
		{in: "dir=d,maxfile=lots", bad: "maxfile"},
		{in: "dir=d,maxfile=10PB", bad: "maxfile"},
		{in: "dir=d,maxfile=0", bad: "maxfile"},
		{in: "dir=d,maxtotal=99999999999999999999", bad: "maxtotal"},
		{in: "dir=d,maxtotal=9000000000GB", bad: "maxtotal"},
		{in: "dir=d,budget=-5%", bad: "budget"},
		{in: "dir=d,budget=7", bad: "budget"},
		{in: "dir=d,budget=1", bad: "budget"},
		{in: "dir=d,budget=150%", bad: "budget"},
		{in: "dir=d,budget=inf", bad: "budget"},
		{in: "dir=d,budget=NaN", bad: "budget"},
		{in: "dir=d,interval=2s", bad: "interval"},
		{in: "dir=d,dir=e", bad: "dir"},
		{in: "dir=d,metrics=127.0.0.1:9464", want: Config{Dir: "d", Metrics: "127.0.0.1:9464"}},
		{in: "dir=d,metrics=:9464", want: Config{Dir: "d", Metrics: ":9464"}},
		{in: "dir=d,metrics=[::1]:0", want: Config{Dir: "d", Metrics: "[::1]:0"}},
		{in: "dir=d,metrics=", bad: "metrics"},
		{in: "dir=d,metrics=9464", bad: "metrics"},
		{in: "dir=d,metrics=localhost", bad: "metrics"},
		{in: "dir=d,metrics=127.0.0.1:http", bad: "metrics"},
		{in: "dir=d,metrics=127.0.0.1:70000", bad: "metrics"},
		{in: "dir=d,metrics=127.0.0.1:", bad: "metrics"},
		{in: "dir=d,metrics=127.0.0.1:1,metrics=127.0.0.1:2", bad: "metrics"},
	} {
		got, err := ParseEnv(tc.in)
		if tc.bad != "" {
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Key != tc.bad || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseEnv(%q) = %v, want an error naming %q", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEnv(%q): %v", tc.in, err)
			continue
		}
		if got.Dir != tc.want.Dir || got.Threshold != tc.want.Threshold || got.JSONL != tc.want.JSONL ||
			got.Sample != tc.want.Sample || got.MaxFile != tc.want.MaxFile || got.MaxTotal != tc.want.MaxTotal ||
			got.Budget != tc.want.Budget || got.Interval != tc.want.Interval || got.StopTimeout != tc.want.StopTimeout ||
			got.Metrics != tc.want.Metrics || got.LeakProfile != tc.want.LeakProfile {
			t.Errorf("ParseEnv(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Config{Dir: "d"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Threshold != time.Millisecond || c.Sample != time.Second || c.MaxFile != 64<<20 || c.MaxTotal != 1<<30 ||
		c.Budget != 0.05 || c.Interval != 500*time.Millisecond || c.LeakProfile != time.Minute || c.leakSet {
		t.Errorf("defaults: %+v", c)
	}
	for _, off := range []float64{-1, 1, math.Inf(1)} {
		if c, err := (Config{Dir: "d", Budget: off}).withDefaults(); err != nil || !math.IsInf(c.Budget, 1) {
			t.Errorf("Budget %v: %v, %v; want no limit", off, c.Budget, err)
		}
	}
	for _, bad := range []Config{
		{},
		{Dir: "d", Threshold: -1},
		{Dir: "d", MaxFile: 100},
		{Dir: "d", MaxFile: 1 << 20, MaxTotal: 1 << 19},
		{Dir: "d", MaxFile: 1 << 20, MaxTotal: 3 << 19, JSONL: true},
		{Dir: "d", Interval: 2 * time.Second},
		{Dir: "d", Budget: math.NaN()},
		{Dir: "d", Budget: 7}, // 7 what? a share of a CPU is below 1
		{Dir: "d", Metrics: "9464"},
		{Dir: "d", Metrics: "host:port"},
		{Dir: "d", Budget: 7},                     // 7 what? a share of a CPU is below 1
		{Dir: "d", LeakProfile: time.Millisecond}, // a full GC each time
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestParseEnvShip(t *testing.T) {
	for _, tc := range []struct {
		in                      string
		ship, service, instance string
		bad                     string // key named in the error
	}{
		{in: "dir=d,ship=http://127.0.0.1:8123/?database=w,service=nats", ship: "http://127.0.0.1:8123/?database=w", service: "nats"},
		{in: "dir=d,ship=https://ch.example:8443/,service=nats,instance=web-1", ship: "https://ch.example:8443/", service: "nats", instance: "web-1"},
		{in: "dir=d,ship=http://127.0.0.1:8123/", bad: "service"},
		{in: "dir=d,ship=http://127.0.0.1:8123/,service=", bad: "service"},
		{in: "dir=d,ship=http://127.0.0.1:8123/,service=s,instance=", bad: "instance"},
		{in: "dir=d,ship=tcp://127.0.0.1:9000,service=s", bad: "ship"},
		{in: "dir=d,ship=http:///,service=s", bad: "ship"},
		{in: "dir=d,ship=http://h/?database=a-b,service=s", bad: "ship"},
		{in: "dir=d,ship=,service=s", bad: "ship"},
		{in: "dir=d,ship=http://h/,ship=http://h/,service=s", bad: "ship"},
		{in: "dir=d,service=s", bad: "service"},
		{in: "dir=d,instance=i", bad: "instance"},
	} {
		got, err := ParseEnv(tc.in)
		if tc.bad != "" {
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Key != tc.bad || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseEnv(%q) = %v, want an error naming %q", tc.in, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEnv(%q): %v", tc.in, err)
			continue
		}
		if got.Ship != tc.ship || got.Service != tc.service || got.Instance != tc.instance {
			t.Errorf("ParseEnv(%q) = ship %q service %q instance %q", tc.in, got.Ship, got.Service, got.Instance)
		}
		if _, err := got.withDefaults(); err != nil {
			t.Errorf("ParseEnv(%q): withDefaults: %v", tc.in, err)
		}
	}
	for _, bad := range []Config{
		{Dir: "d", Ship: "http://127.0.0.1:8123/"},
		{Dir: "d", Ship: "ftp://x/", Service: "s"},
		{Dir: "d", Service: "s"},
		{Dir: "d", Instance: "i"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
