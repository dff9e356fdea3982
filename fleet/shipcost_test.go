package fleet

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/wakeshim/wakeshim/internal/chserver"
)

// TestShipCost compares two builds of the wakeshim command shipping the
// nats-server trace, alternating (a, b, then b, a, ...), 3 rounds of 20
// each, as docs/fleet.md's "Tested, measured" gives them: the ship's own
// time (its summary line), its wall and CPU time. Run by hand:
//
//	WAKESHIM_SHIP_A=/tmp/old WAKESHIM_SHIP_B=/tmp/new go test -v -run TestShipCost ./fleet
func TestShipCost(t *testing.T) {
	a, b := os.Getenv("WAKESHIM_SHIP_A"), os.Getenv("WAKESHIM_SHIP_B")
	if a == "" || b == "" {
		t.Skip("WAKESHIM_SHIP_A and WAKESHIM_SHIP_B name the two builds to compare")
	}
	s := chserver.Start(t)
	url := s.URL("wakeshim")
	re := regexp.MustCompile(` in ([0-9.]+[mµ]?s),`)
	ship, wall, cpu := map[string][]time.Duration{}, map[string][]time.Duration{}, map[string][]time.Duration{}
	const rounds, n = 3, 20
	for round := range rounds {
		for i := range n {
			order := []string{a, b}
			if (i+round)%2 == 1 {
				order = []string{b, a}
			}
			for _, bin := range order {
				t0 := time.Now()
				cmd := exec.Command(bin, "ship", "-to", url, "-service", "cost", "-instance", fmt.Sprint(bin, round, "-", i), natsTrace)
				out, err := cmd.CombinedOutput()
				wall[bin] = append(wall[bin], time.Since(t0))
				if err != nil {
					t.Fatalf("%s: %v %s", bin, err, out)
				}
				cpu[bin] = append(cpu[bin], cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
				m := re.FindSubmatch(out)
				if m == nil {
					t.Fatalf("%s: no time in %s", bin, out)
				}
				d, _ := time.ParseDuration(string(m[1]))
				ship[bin] = append(ship[bin], d)
			}
		}
		med := func(v []time.Duration) time.Duration {
			v = slices.Clone(v[round*n:])
			slices.Sort(v)
			return v[len(v)/2]
		}
		for _, bin := range []string{a, b} {
			t.Logf("round %d %s: median ship %v, wall %v, CPU %v", round, bin, med(ship[bin]), med(wall[bin]), med(cpu[bin]))
		}
	}
}

// TestShipTableTimes ships the nats-server trace 15 times and gives the
// median time of each table's INSERT (from one acknowledged batch to the
// next). Run by hand: WAKESHIM_SHIP_TIMES=1 go test -v -run TestShipTableTimes ./fleet
func TestShipTableTimes(t *testing.T) {
	if os.Getenv("WAKESHIM_SHIP_TIMES") == "" {
		t.Skip("WAKESHIM_SHIP_TIMES=1 runs it")
	}
	s := chserver.Start(t)
	c := newClient(t, s)
	per := map[string][]time.Duration{}
	for i := range 15 {
		t0 := time.Now()
		last := t0
		_, err := Ship(t.Context(), c, []string{natsTrace}, ShipOptions{Service: "x", Instance: fmt.Sprint(i), Records: cmdRecords,
			OnBatch: func(table string, rows int) {
				now := time.Now()
				per[table] = append(per[table], now.Sub(last))
				last = now
			}})
		if err != nil {
			t.Fatal(err)
		}
		per["(the ship)"] = append(per["(the ship)"], time.Since(t0))
	}
	for _, k := range slices.Sorted(maps.Keys(per)) {
		v := per[k]
		slices.Sort(v)
		t.Logf("%-12s median %v", k, v[len(v)/2])
	}
}
