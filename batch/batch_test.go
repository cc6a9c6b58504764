package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otoseg/otoseg/imageio"
	"github.com/otoseg/otoseg/internal/atomicfile"
	"github.com/otoseg/otoseg/internal/pgtest"
	"github.com/otoseg/otoseg/volume"
)

// The queue tests run real worker processes: this test binary, started
// again with helperEnv set, runs Work with thresholdHandler until the
// queue is empty.
const (
	helperEnv = "OTOSEG_BATCH_TEST_WORKER" // the queue to work
	helperID  = "OTOSEG_BATCH_TEST_ID"
	helperDir = "OTOSEG_BATCH_TEST_DIR" // markers and logs
)

func TestMain(m *testing.M) {
	if q := os.Getenv(helperEnv); q != "" {
		os.Exit(helperWorker(q, os.Getenv(helperID), os.Getenv(helperDir)))
	}
	os.Exit(m.Run())
}

func helperWorker(loc, id, dir string) int {
	ctx, stop := signalContext()
	defer stop()
	q, err := Open(context.Background(), loc)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer q.Close()
	err = Work(ctx, context.Background(), q, thresholdHandler(id, dir), WorkerOptions{
		ID: id, Jobs: 1, JobTimeout: 5 * time.Second, RescueAfter: 8 * time.Second,
		RetryBase: 200 * time.Millisecond, PollInterval: 100 * time.Millisecond, UntilEmpty: true,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// thresholdHandler is the test's job: a real, cheap image operation (the
// label map of voxels above 0) written the way otoseg's handler writes,
// atomically. It leaves a marker when it starts a job, blocks while a
// hold file for its worker exists (so the test can kill or stop it
// mid-job), and logs each job it completes.
func thresholdHandler(id, dir string) Handler {
	return func(ctx context.Context, job Job) error {
		tag := fmt.Sprintf("%d-%s-%d", job.ID, id, job.Attempt)
		os.WriteFile(filepath.Join(dir, "started-"+tag), nil, 0o644)
		hold := filepath.Join(dir, "hold-"+id)
		if _, err := os.Stat(hold); err == nil {
			os.WriteFile(filepath.Join(dir, "held-"+tag), nil, 0o644)
			for {
				if _, err := os.Stat(hold); err != nil {
					break // released: finish the job
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		v, err := imageio.Read(job.Args.Input)
		if err != nil {
			return err
		}
		lab := volume.New(v.Geometry, volume.Uint8)
		for i, x := range v.Data {
			if x > 0 {
				lab.Data[i] = 1
			}
		}
		time.Sleep(50 * time.Millisecond)
		if err := os.MkdirAll(filepath.Dir(job.Args.Output), 0o755); err != nil {
			return err
		}
		if err := imageio.Write(job.Args.Output, lab); err != nil {
			return err
		}
		side := strings.TrimSuffix(job.Args.Output, ".nii.gz") + ".json"
		b, _ := json.Marshal(map[string]any{"input": job.Args.Input, "job": job.ID})
		if err := atomicfile.WriteBytes(side, b); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(dir, "completed-"+id), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		fmt.Fprintf(f, "%d\n", job.ID)
		return f.Close()
	}
}

// writeScans writes n small CT-like volumes in two nested folders (and a
// same-named scan in each, which must get separate outputs).
func writeScans(t *testing.T, root string, n int) {
	t.Helper()
	for i := range n {
		g := volume.NewGeometry([3]int{12, 10, 6}, [3]float64{0.5, 0.5, 1})
		v := volume.New(g, volume.Int16)
		for j := range v.Data {
			v.Data[j] = float32((j*7+i*13)%200 - 100)
		}
		sub := []string{"site-a", "site-b"}[i%2]
		p := filepath.Join(root, sub, fmt.Sprintf("scan%02d.nii.gz", i/2))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := imageio.Write(p, v); err != nil {
			t.Fatal(err)
		}
	}
}

// TestQueue runs the kill-mid-job scenario on both queue kinds.
func TestQueue(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		killMidJob(t, filepath.Join(t.TempDir(), "queue.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		killMidJob(t, pgtest.Start(t))
	})
}

// killMidJob: 30 scans, 3 worker processes, the queue's leader killed
// with SIGKILL while it holds a job. Every scan must end up completed once,
// with one complete output and no temporary file, the killed job finished
// by another worker; submitting again adds nothing.
func killMidJob(t *testing.T, loc string) {
	ctx := context.Background()
	tmp := t.TempDir()
	in, out, marks := filepath.Join(tmp, "in"), filepath.Join(tmp, "out"), filepath.Join(tmp, "marks")
	os.MkdirAll(marks, 0o755)
	const nScans = 30
	writeScans(t, in, nScans)
	q, err := Open(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	inputs, err := Discover([]string{in})
	if err != nil || len(inputs) != nScans {
		t.Fatalf("%d inputs, %v", len(inputs), err)
	}
	opts := SubmitOptions{Out: out, ModelSum: "test-model"}
	if rep, err := Submit(ctx, q, inputs, opts); err != nil || rep.Added != nScans {
		t.Fatalf("submit: %+v %v", rep, err)
	}
	if rep, err := Submit(ctx, q, inputs, opts); err != nil || rep.Added != 0 || rep.Duplicates != nScans {
		t.Fatalf("second submit: %+v %v", rep, err)
	}

	workers := map[string]*exec.Cmd{}
	var logs sync.Map
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("w%d", i)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+loc, helperID+"="+id, helperDir+"="+marks)
		var b strings.Builder
		cmd.Stderr, cmd.Stdout = &b, &b
		logs.Store(id, &b)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[id] = cmd
	}
	t.Cleanup(func() {
		for _, c := range workers {
			c.Process.Kill()
		}
	})
	leader := waitLeader(t, q)
	os.WriteFile(filepath.Join(marks, "hold-"+leader), nil, 0o644)
	held := waitGlob(t, filepath.Join(marks, "held-*-"+leader+"-*"), 60*time.Second)
	if err := workers[leader].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	workers[leader].Wait()
	var killedJob int64
	fmt.Sscanf(strings.TrimPrefix(filepath.Base(held), "held-"), "%d-", &killedJob)

	for id, c := range workers {
		if id == leader {
			continue
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b, _ := logs.Load(id)
				t.Fatalf("worker %s: %v\n%s", id, err, b.(*strings.Builder).String())
			}
		case <-time.After(120 * time.Second):
			t.Fatalf("worker %s did not finish the queue in 120 s", id)
		}
	}
	checkOutputs(t, in, out, inputs)
	checkJobs(t, q, marks, leader, killedJob, nScans)
}

// waitLeader returns the ID of the worker River elected leader.
func waitLeader(t *testing.T, q *Queue) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		rows, err := q.query(context.Background(), "SELECT leader_id, name FROM river_leader")
		if err == nil && len(rows) == 1 {
			id := fmt.Sprint(rows[0][0])
			if b, ok := rows[0][0].([]byte); ok {
				id = string(b)
			}
			return id
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("no leader elected in 60 s")
	return ""
}

func waitGlob(t *testing.T, pattern string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing matched %s in %v", pattern, limit)
	return ""
}

// checkOutputs: one label map and one sidecar per scan, each complete and
// right, and nothing else (no temporary file) in the output tree.
func checkOutputs(t *testing.T, in, out string, inputs []Input) {
	t.Helper()
	var files []string
	filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(out, p)
			files = append(files, rel)
		}
		return nil
	})
	var want []string
	for _, s := range inputs {
		want = append(want, s.Rel+".nii.gz", s.Rel+".json")
	}
	sort.Strings(files)
	sort.Strings(want)
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("output files\n%v\nwant\n%v", files, want)
	}
	for _, s := range inputs {
		src, err := imageio.Read(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		lab, err := imageio.Read(filepath.Join(out, s.Rel+".nii.gz"))
		if err != nil {
			t.Fatalf("output of %s: %v", s.Path, err)
		}
		for i := range src.Data {
			if (src.Data[i] > 0) != (lab.Data[i] == 1) || math.IsNaN(float64(lab.Data[i])) {
				t.Fatalf("output of %s wrong at voxel %d", s.Path, i)
			}
		}
	}
}

// checkJobs: every job completed, the killed job retried by another
// worker and completed once.
func checkJobs(t *testing.T, q *Queue, marks, killed string, killedJob int64, n int) {
	t.Helper()
	jobs, err := Jobs(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != n {
		t.Fatalf("%d jobs, want %d", len(jobs), n)
	}
	runs := map[int64]int{}
	logsFound, _ := filepath.Glob(filepath.Join(marks, "completed-*"))
	for _, l := range logsFound {
		b, _ := os.ReadFile(l)
		for _, f := range strings.Fields(string(b)) {
			var id int64
			fmt.Sscan(f, &id)
			runs[id]++
		}
	}
	for _, j := range jobs {
		// River records completions asynchronously, so a job the killed
		// worker had just finished may run again: at least once for its
		// jobs, exactly once for everyone else's.
		byKilled := slices.Contains(j.AttemptedBy, killed)
		if j.State != "completed" || runs[j.ID] < 1 || (!byKilled && runs[j.ID] != 1) {
			t.Errorf("job %d: state %s, completed by %d handler runs (attempted by %v, errors %v)", j.ID, j.State, runs[j.ID], j.AttemptedBy, j.Errors)
		}
		if j.ID == killedJob {
			if len(j.AttemptedBy) < 2 || j.AttemptedBy[len(j.AttemptedBy)-1] == killed || j.Attempt < 2 || runs[j.ID] != 1 {
				t.Errorf("killed job %d: attempted by %v in %d attempts, %d completions; want %s then another worker, once", j.ID, j.AttemptedBy, j.Attempt, runs[j.ID], killed)
			}
		}
	}
	st, err := GetStatus(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != n || st.Completed != n || st.Pending+st.Running+st.Failed != 0 || !(st.ScansPerHour > 0) {
		t.Errorf("status %+v", st)
	}
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
}

// startWorker starts one helper worker process.
func startWorker(t *testing.T, loc, id, marks string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+loc, helperID+"="+id, helperDir+"="+marks)
	var b strings.Builder
	cmd.Stderr, cmd.Stdout = &b, &b
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &b
}

// TestDrain: SIGTERM lets the job in hand finish and starts no other; a
// second SIGTERM cancels the job in hand and returns it to the queue.
func TestDrain(t *testing.T) {
	for _, tc := range []struct {
		name    string
		signals int
		want    string // the held job's states allowed afterwards
	}{
		{"one signal finishes the job", 1, "completed"},
		{"two signals release it", 2, "available retryable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tmp := t.TempDir()
			marks := filepath.Join(tmp, "marks")
			os.MkdirAll(marks, 0o755)
			writeScans(t, filepath.Join(tmp, "in"), 4)
			loc := filepath.Join(tmp, "q.db")
			q, err := Open(ctx, loc)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			inputs, _ := Discover([]string{filepath.Join(tmp, "in")})
			if _, err := Submit(ctx, q, inputs, SubmitOptions{Out: filepath.Join(tmp, "out"), ModelSum: "m"}); err != nil {
				t.Fatal(err)
			}
			hold := filepath.Join(marks, "hold-w1")
			os.WriteFile(hold, nil, 0o644)
			cmd, log := startWorker(t, loc, "w1", marks)
			held := waitGlob(t, filepath.Join(marks, "held-*"), 60*time.Second)
			var jobID int64
			fmt.Sscanf(strings.TrimPrefix(filepath.Base(held), "held-"), "%d-", &jobID)
			cmd.Process.Signal(syscall.SIGTERM)
			time.Sleep(300 * time.Millisecond)
			if tc.signals == 2 {
				cmd.Process.Signal(syscall.SIGTERM)
			} else {
				os.Remove(hold)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("worker: %v\n%s", err, log.String())
				}
			case <-time.After(60 * time.Second):
				t.Fatal("worker did not stop")
			}
			jobs, err := Jobs(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			started, _ := filepath.Glob(filepath.Join(marks, "started-*"))
			for _, j := range jobs {
				if j.ID == jobID && !slices.Contains(strings.Fields(tc.want), string(j.State)) {
					t.Errorf("held job: %s, want %s", j.State, tc.want)
				}
				if j.ID != jobID && j.State != "available" {
					t.Errorf("job %d %s: no job may start while draining", j.ID, j.State)
				}
			}
			if len(started) != 1 {
				t.Errorf("%d jobs started, want the held one only", len(started))
			}
		})
	}
}
