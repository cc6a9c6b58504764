package batch

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Status is the state of a queue's segmentation jobs.
type Status struct {
	Total int `json:"total"`
	// Pending jobs wait for a worker: available, scheduled, or waiting
	// for a retry.
	Pending   int `json:"pending"`
	Running   int `json:"running"`
	Completed int `json:"completed"`
	// Failed jobs gave up after their last attempt (or were cancelled).
	Failed int `json:"failed"`
	// ScansPerHour is completed jobs over the time from the first
	// completed job's start to the last one's end.
	ScansPerHour float64       `json:"scans_per_hour"`
	FailedInputs []FailedInput `json:"failed_inputs"`
}

// FailedInput is a job that gave up, with the error of its last attempt.
type FailedInput struct {
	Input    string `json:"input"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
}

// maxFailedListed caps the failed inputs a status lists.
const maxFailedListed = 1000

// counts returns the jobs per state group.
func (q *Queue) counts(ctx context.Context) (Status, error) {
	var s Status
	rows, err := q.query(ctx, "SELECT CAST(state AS text), count(*) FROM river_job WHERE kind = '"+Kind+"' GROUP BY state")
	if err != nil {
		return s, fmt.Errorf("queue %s: %w", q.Location, err)
	}
	for _, r := range rows {
		state := fmt.Sprint(r[0])
		if b, ok := r[0].([]byte); ok {
			state = string(b)
		}
		n, ok := r[1].(int64)
		if !ok {
			return s, fmt.Errorf("queue %s: count of unexpected type %T", q.Location, r[1])
		}
		s.Total += int(n)
		switch rivertype.JobState(state) {
		case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending:
			s.Pending += int(n)
		case rivertype.JobStateRunning:
			s.Running += int(n)
		case rivertype.JobStateCompleted:
			s.Completed += int(n)
		case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
			s.Failed += int(n)
		}
	}
	return s, nil
}

// GetStatus reports the queue's jobs, throughput and failures.
func GetStatus(ctx context.Context, q *Queue) (*Status, error) {
	s, err := q.counts(ctx)
	if err != nil {
		return nil, err
	}
	client, err := q.newClient(&river.Config{Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	s.FailedInputs = []FailedInput{}
	if s.Completed > 0 {
		first, err1 := client.JobList(ctx, river.NewJobListParams().Kinds(Kind).States(rivertype.JobStateCompleted).OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderAsc).First(1))
		last, err2 := client.JobList(ctx, river.NewJobListParams().Kinds(Kind).States(rivertype.JobStateCompleted).OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderDesc).First(1))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("queue %s: listing completed jobs: %v %v", q.Location, err1, err2)
		}
		if len(first.Jobs) == 1 && len(last.Jobs) == 1 && first.Jobs[0].AttemptedAt != nil && last.Jobs[0].FinalizedAt != nil {
			if h := last.Jobs[0].FinalizedAt.Sub(*first.Jobs[0].AttemptedAt).Hours(); h > 0 {
				s.ScansPerHour = float64(s.Completed) / h
			}
		}
	}
	if s.Failed > 0 {
		res, err := client.JobList(ctx, river.NewJobListParams().Kinds(Kind).States(rivertype.JobStateDiscarded, rivertype.JobStateCancelled).First(maxFailedListed))
		if err != nil {
			return nil, fmt.Errorf("queue %s: listing failed jobs: %w", q.Location, err)
		}
		for _, j := range res.Jobs {
			var a Args
			_ = json.Unmarshal(j.EncodedArgs, &a)
			f := FailedInput{Input: a.Input, Attempts: j.Attempt}
			if len(j.Errors) > 0 {
				f.Error = j.Errors[len(j.Errors)-1].Error
			}
			s.FailedInputs = append(s.FailedInputs, f)
		}
	}
	return &s, nil
}

// Jobs lists every segmentation job's row (for tests and audits: who
// attempted it, how often, its errors).
func Jobs(ctx context.Context, q *Queue) ([]*rivertype.JobRow, error) {
	client, err := q.newClient(&river.Config{Logger: quietLogger()})
	if err != nil {
		return nil, err
	}
	var out []*rivertype.JobRow
	params := river.NewJobListParams().Kinds(Kind).First(10000)
	for {
		res, err := client.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q.Location, err)
		}
		out = append(out, res.Jobs...)
		if len(res.Jobs) < 10000 {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}
