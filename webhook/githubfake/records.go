package githubfake

import (
	"net/url"
	"time"
)

// Request is one request the fake answered.
type Request struct {
	Method      string
	Path        string
	Query       url.Values
	OperationID string // "" when the path matched no operation
	Status      int
	At          time.Time
}

// Mutation is one successful state-changing request, in order.
type Mutation struct {
	Method      string
	OperationID string
	Path        string
	// Body is the decoded JSON request body (nil when there was none).
	Body any
	// ObjectID is the id of the created, changed or deleted object.
	ObjectID int64
	Status   int
	// Agent is the request's User-Agent: which client (a replica, a job)
	// made it.
	Agent string
	// Arrived and Answered place the request's arrival and its answer in
	// one order of the fake's events: two mutations overlapped in time
	// when each arrived before the other was answered.
	Arrived, Answered uint64
}

// Violation is a request that broke GitHub's contract: an operation the
// subset lacks, or a path, parameter or body the description rejects.
type Violation struct {
	OperationID string
	Method      string
	Path        string
	Message     string
}

// Requests returns every request answered so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Count returns how many requests for operation id were answered.
func (f *Fake) Count(operationID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if r.OperationID == operationID {
			n++
		}
	}
	return n
}

// Counts returns the number of requests per operation id.
func (f *Fake) Counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for _, r := range f.requests {
		out[r.OperationID]++
	}
	return out
}

// Mutations returns every successful mutation so far, in order.
func (f *Fake) Mutations() []Mutation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Mutation(nil), f.mutations...)
}

// Violations returns every contract violation so far.
func (f *Fake) Violations() []Violation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Violation(nil), f.violations...)
}

// violate records a violation and, unless the fake expects them, fails
// the test.
func (f *Fake) violate(v Violation) {
	f.violations = append(f.violations, v)
	if f.cfg.expectViolations {
		return
	}
	f.t.Helper()
	f.t.Errorf("githubfake: %s %s (%s) violates GitHub's REST API description: %s", v.Method, v.Path, v.OperationID, v.Message)
}
