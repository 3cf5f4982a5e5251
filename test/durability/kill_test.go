package durability_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/footlight/footlight/internal/servertest"
)

const (
	killCycles      = 4
	writers         = 16
	maxOpsPerWriter = 100000 // bounds a writer's loop; the kill ends it long before
	maxTagWrites    = 30     // per stage: 2 creation tags + 30 + one in flight per writer < 50
	fetchWorkers    = 8
)

// outcome is what a client knows about a write.
type outcome int

const (
	pending    outcome = iota // not answered yet
	acked                     // 200: must survive the kill
	unknown                   // connection broke mid-request: may or may not have applied
	notApplied                // refused before it reached the server, or an error reply
)

func (o outcome) String() string {
	return [...]string{"pending", "acknowledged", "unknown", "not applied"}[o]
}

// seen is what the first restart after a write showed of it; later restarts must agree.
type seen struct {
	resolved bool
	present  bool
}

// resolve records whether the write is visible now and reports a write whose visibility
// contradicts its outcome or an earlier restart.
func (s *seen) resolve(o outcome, present bool) error {
	switch {
	case o == acked && !present:
		return errors.New("acknowledged but lost")
	case o == notApplied && present:
		return errors.New("never reached the server but applied")
	case s.resolved && s.present && !present:
		return errors.New("seen after an earlier restart, gone now")
	case s.resolved && !s.present && present:
		return errors.New("absent after an earlier restart, present now")
	}
	s.resolved, s.present = true, present
	return nil
}

type stageAttempt struct {
	name       string
	tags       map[string]string
	storageArn string
	cycle      int
	outcome    outcome
	created    stage  // CreateStage's reply, when acked
	arn        string // from the reply, or learned when the stage was found after a restart
	seen
}

type tagAttempt struct {
	stageArn, key, value string
	cycle                int
	outcome              outcome
	seen
}

type storageAttempt struct {
	name, bucket string
	tags         map[string]string
	cycle        int
	outcome      outcome
	created      storageConfig
	arn          string
	seen
}

// cycleCounts are one cycle's writes by kind and outcome, and what its restart found.
type cycleCounts struct {
	stages, tags, storage             [4]int // by outcome
	stagesFound, tagsFound, storFound int    // unknown-outcome writes found applied
	listedStages, listedStorage       int
	// writerAcked counts the writers' acknowledged writes (the seed's are not counted); cut
	// counts requests a writer started before the kill was sent that never got a reply (the
	// connection broke mid-request): they were in flight when the server died.
	writerAcked, cut int
}

// ledger is what every writer attempted and how it ended, across all cycles.
type ledger struct {
	mu          sync.Mutex
	stages      map[string]*stageAttempt          // by name (unique per attempt)
	ackedStages []string                          // ARNs: tag targets
	tagWrites   map[string]map[string]*tagAttempt // by stage ARN, then key (unique per attempt)
	storage     map[string]*storageAttempt        // by name
	ackedStor   []string                          // ARNs: recording targets
	template    *recording                        // recording of a stage created with only a storage ARN
	counts      []cycleCounts                     // by cycle-1
	stageOrder  []string                          // ListStages after the last restart
	storOrder   []string                          // ListStorageConfigurations after the last restart
	inFlight    atomic.Int32                      // write requests sent and not answered yet
}

func newLedger() *ledger {
	return &ledger{
		stages:    map[string]*stageAttempt{},
		tagWrites: map[string]map[string]*tagAttempt{},
		storage:   map[string]*storageAttempt{},
		counts:    make([]cycleCounts, killCycles),
	}
}

// classify is the outcome of a request that returned err.
func classify(err error) outcome {
	if err == nil {
		return acked
	}
	if apiErr, ok := isAPIError(err); ok && apiErr.Status < 500 {
		return notApplied
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return notApplied
	}
	return unknown
}

// TestKillMidWritesLosesNothingAcknowledged SIGKILLs the server while 16 writers create
// stages, tag them and create storage configurations, restarts it on the same data dir and
// checks, over several cycles, that every acknowledged write survived exactly, that nothing
// half-made or never-attempted is visible, and that listings are duplicate-free and stable.
func TestKillMidWritesLosesNothingAcknowledged(t *testing.T) {
	begin := time.Now()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	l := newLedger()

	p := servertest.StartBinary(t, dir)
	cut := 0 // requests cut by the kill, over all cycles
	for cycle := 1; cycle <= killCycles; cycle++ {
		c := p.Client()
		l.seed(t, c, cycle)

		ctx, cancel := context.WithCancel(context.Background())
		var killSent atomic.Bool
		var wg sync.WaitGroup
		for w := range writers {
			wrng := rand.New(rand.NewPCG(seed, uint64(cycle*1000+w)))
			wg.Add(1)
			go func() { // ends at its first failed request or when ctx ends
				defer wg.Done()
				l.writer(ctx, t, c, cycle, w, wrng, &killSent)
			}()
		}
		// The experiment: kill at a random point of the writes, once half the writers have a
		// request in flight. Group commit answers waiting writers together, so they tend to
		// move in step, and a kill landing while all of them read their replies tests nothing.
		delay := 150*time.Millisecond + time.Duration(rng.IntN(451))*time.Millisecond
		<-time.After(delay)
		for deadline := time.Now().Add(2 * time.Second); l.inFlight.Load() < writers/2 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Microsecond)
		}
		killSent.Store(true)
		err := p.Kill(syscall.SIGKILL)
		cancel()
		wg.Wait()
		if err != nil {
			t.Fatalf("cycle %d: SIGKILL: %v", cycle, err)
		}

		restart := time.Now()
		p = servertest.StartBinary(t, dir)
		l.verify(t, p, cycle)
		n := l.counts[cycle-1]
		t.Logf("cycle %d: killed %v into the writes; restart+verify %v", cycle, delay, time.Since(restart).Round(time.Millisecond))
		t.Logf("cycle %d: acknowledged %d stages, %d tag writes, %d storage configs; unknown %d/%d/%d (found applied %d/%d/%d); refused %d/%d/%d",
			cycle, n.stages[acked], n.tags[acked], n.storage[acked],
			n.stages[unknown], n.tags[unknown], n.storage[unknown], n.stagesFound, n.tagsFound, n.storFound,
			n.stages[notApplied], n.tags[notApplied], n.storage[notApplied])
		t.Logf("cycle %d: listed %d stages, %d storage configs (all cycles); %d writer writes acknowledged, %d requests cut by the kill",
			cycle, n.listedStages, n.listedStorage, n.writerAcked, n.cut)
		// Not vacuous: the writers got writes acknowledged before the kill (beyond the seed's),
		// and the kill came while writes were in flight.
		if n.writerAcked == 0 {
			t.Errorf("cycle %d: no writer's write was acknowledged before the kill: only the seed was tested", cycle)
		}
		cut += n.cut
		if t.Failed() {
			t.FailNow()
		}
	}
	// Requests can still be answered between the check above and the signal landing, so one
	// cycle may see none cut; over every cycle some must have been.
	if cut == 0 {
		t.Errorf("no request was in flight when the server was killed, in any of %d cycles", killCycles)
	}
	t.Logf("total %v", time.Since(begin).Round(time.Millisecond))
}

// seed makes, before the writers start, one storage configuration and two stages that must
// be acknowledged: tag targets and a reference recording configuration for every cycle.
func (l *ledger) seed(t *testing.T, c *servertest.Client, cycle int) {
	t.Helper()
	ctx := context.Background()
	id := fmt.Sprintf("c%d-seed", cycle)
	if err := l.createStorage(ctx, t, c, cycle, id); err != nil {
		t.Fatalf("cycle %d: seeding: %v", cycle, err)
	}
	for i, storageArn := range []string{"", l.pickStorage(rand.New(rand.NewPCG(uint64(cycle), 1)))} {
		if err := l.createStage(ctx, t, c, cycle, fmt.Sprintf("%s-%d", id, i), storageArn); err != nil {
			t.Fatalf("cycle %d: seeding: %v", cycle, err)
		}
	}
}

// writer loops over random writes until a request fails (the kill) or ctx ends.
func (l *ledger) writer(ctx context.Context, t *testing.T, c *servertest.Client, cycle, w int, rng *rand.Rand, killSent *atomic.Bool) {
	for i := 0; i < maxOpsPerWriter && ctx.Err() == nil; i++ {
		id := fmt.Sprintf("c%d-w%d-%d", cycle, w, i)
		var err error
		startedBeforeKill := !killSent.Load()
		n := rng.IntN(10)
		target, canTag := l.pickTagTarget(rng)
		switch {
		case n < 3 && canTag:
			err = l.tag(ctx, c, cycle, target, "t-"+id, "v-"+id+"-"+fmt.Sprint(rng.Uint32()))
		case n < 8:
			storageArn := ""
			if rng.IntN(2) == 0 {
				storageArn = l.pickStorage(rng)
			}
			err = l.createStage(ctx, t, c, cycle, id, storageArn)
		default:
			err = l.createStorage(ctx, t, c, cycle, id)
		}
		l.noteWrite(cycle, err, startedBeforeKill)
		if err == nil {
			continue
		}
		if apiErr, ok := isAPIError(err); ok {
			t.Errorf("writer %d: error reply to a valid request: %v", w, apiErr)
		} else if !killSent.Load() {
			t.Errorf("writer %d: request failed before the kill: %v", w, err)
		}
		return
	}
}

// noteWrite counts a writer's write that ended with err.
func (l *ledger) noteWrite(cycle int, err error, startedBeforeKill bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := &l.counts[cycle-1]
	switch {
	case err == nil:
		n.writerAcked++
	case startedBeforeKill && classify(err) == unknown:
		n.cut++
	}
}

func (l *ledger) pickTagTarget(rng *rand.Rand) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for range 4 {
		if len(l.ackedStages) == 0 {
			return "", false
		}
		arn := l.ackedStages[rng.IntN(len(l.ackedStages))]
		if len(l.tagWrites[arn]) < maxTagWrites {
			return arn, true
		}
	}
	return "", false
}

func (l *ledger) pickStorage(rng *rand.Rand) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ackedStor) == 0 {
		return ""
	}
	return l.ackedStor[rng.IntN(len(l.ackedStor))]
}

// createStage creates a stage named name with one participant token and two tags, recording
// to storageArn when it is not empty, and records the attempt and its outcome.
func (l *ledger) createStage(ctx context.Context, t *testing.T, c *servertest.Client, cycle int, name, storageArn string) error {
	a := &stageAttempt{name: name, tags: map[string]string{"cycle": fmt.Sprint(cycle), "name": name}, storageArn: storageArn, cycle: cycle}
	l.mu.Lock()
	l.stages[name] = a
	l.mu.Unlock()
	in := map[string]any{
		"name":                           name,
		"participantTokenConfigurations": []any{map[string]any{"userId": "u-" + name, "capabilities": []string{"PUBLISH", "SUBSCRIBE"}}},
		"tags":                           a.tags,
	}
	if storageArn != "" {
		in["autoParticipantRecordingConfiguration"] = map[string]string{"storageConfigurationArn": storageArn}
	}
	var out struct {
		Stage             *stage             `json:"stage"`
		ParticipantTokens []participantToken `json:"participantTokens"`
	}
	l.inFlight.Add(1)
	err := c.Call(ctx, "CreateStage", in, &out)
	l.inFlight.Add(-1)
	l.mu.Lock()
	defer l.mu.Unlock()
	a.outcome = classify(err)
	l.counts[cycle-1].stages[a.outcome]++
	if err != nil {
		return err
	}
	if out.Stage == nil || out.Stage.Name != name || !reflect.DeepEqual(out.Stage.Tags, a.tags) || out.Stage.Recording == nil ||
		out.Stage.Recording.StorageConfigurationArn != storageArn || len(out.ParticipantTokens) != 1 || out.ParticipantTokens[0].Token == "" {
		t.Errorf("CreateStage %s: reply %+v does not match the request", name, out)
		return nil
	}
	a.created, a.arn = *out.Stage, out.Stage.Arn
	l.ackedStages = append(l.ackedStages, a.arn)
	if l.template == nil {
		r := *out.Stage.Recording
		r.StorageConfigurationArn = ""
		l.template = &r
	}
	return nil
}

// tag adds one new tag key to an acknowledged stage and records the attempt.
func (l *ledger) tag(ctx context.Context, c *servertest.Client, cycle int, stageArn, key, value string) error {
	a := &tagAttempt{stageArn: stageArn, key: key, value: value, cycle: cycle}
	l.mu.Lock()
	if l.tagWrites[stageArn] == nil {
		l.tagWrites[stageArn] = map[string]*tagAttempt{}
	}
	l.tagWrites[stageArn][key] = a
	l.mu.Unlock()
	l.inFlight.Add(1)
	err := tagResource(ctx, c, stageArn, map[string]string{key: value})
	l.inFlight.Add(-1)
	l.mu.Lock()
	defer l.mu.Unlock()
	a.outcome = classify(err)
	l.counts[cycle-1].tags[a.outcome]++
	return err
}

// createStorage creates a storage configuration named "sc-"+id and records the attempt.
func (l *ledger) createStorage(ctx context.Context, t *testing.T, c *servertest.Client, cycle int, id string) error {
	name := "sc-" + id
	a := &storageAttempt{name: name, bucket: "bucket-" + id, tags: map[string]string{"made-by": id}, cycle: cycle}
	l.mu.Lock()
	l.storage[name] = a
	l.mu.Unlock()
	var out struct {
		StorageConfiguration *storageConfig `json:"storageConfiguration"`
	}
	l.inFlight.Add(1)
	err := c.Call(ctx, "CreateStorageConfiguration", map[string]any{"name": name, "s3": map[string]string{"bucketName": a.bucket}, "tags": a.tags}, &out)
	l.inFlight.Add(-1)
	l.mu.Lock()
	defer l.mu.Unlock()
	a.outcome = classify(err)
	l.counts[cycle-1].storage[a.outcome]++
	if err != nil {
		return err
	}
	sc := out.StorageConfiguration
	if sc == nil || sc.Name != name || sc.S3 == nil || sc.S3.BucketName != a.bucket || !reflect.DeepEqual(sc.Tags, a.tags) {
		t.Errorf("CreateStorageConfiguration %s: reply %+v does not match the request", name, sc)
		return nil
	}
	a.created, a.arn = *sc, sc.Arn
	l.ackedStor = append(l.ackedStor, a.arn)
	return nil
}

// verify reads everything back from the restarted server p after cycle's kill and checks it
// against every attempt of cycles 1..cycle.
func (l *ledger) verify(t *testing.T, p *servertest.Process, cycle int) {
	t.Helper()
	ctx := context.Background()
	c := p.Client()
	l.mu.Lock() // the writers are done; the lock is for form
	defer l.mu.Unlock()
	n := &l.counts[cycle-1]
	maxPages := (len(l.stages)+len(l.storage))/100 + 5

	// Storage configurations first: stages refer to them.
	storOrder, storByArn := verifyListing[storageConfig](t, ctx, c, cycle, "ListStorageConfigurations", "storageConfigurations", maxPages,
		func(s storageConfig) string { return s.Arn }, l.storOrder)
	l.storOrder = storOrder
	n.listedStorage = len(storOrder)
	foundStor, foundStorArn := map[string]bool{}, map[string]bool{}
	for _, arn := range storOrder {
		listed := storByArn[arn]
		var got struct {
			StorageConfiguration storageConfig `json:"storageConfiguration"`
		}
		if err := c.Call(ctx, "GetStorageConfiguration", map[string]string{"arn": arn}, &got); err != nil {
			t.Errorf("cycle %d: listed storage configuration: %v", cycle, err)
			continue
		}
		if !reflect.DeepEqual(got.StorageConfiguration, listed) {
			t.Errorf("cycle %d: GetStorageConfiguration %+v, ListStorageConfigurations %+v", cycle, got.StorageConfiguration, listed)
		}
		a := l.storage[listed.Name]
		switch {
		case a == nil:
			t.Errorf("cycle %d: storage configuration %s named %q, which no writer attempted", cycle, arn, listed.Name)
			continue
		case foundStor[a.name]:
			t.Errorf("cycle %d: two storage configurations named %q", cycle, a.name)
			continue
		case a.arn != "" && a.arn != arn:
			t.Errorf("cycle %d: storage configuration %q is %s, was %s", cycle, a.name, arn, a.arn)
		}
		foundStor[a.name], foundStorArn[arn] = true, true
		if a.outcome == unknown && !a.resolved && a.cycle == cycle {
			n.storFound++
		}
		if err := a.resolve(a.outcome, true); err != nil {
			t.Errorf("cycle %d: storage configuration %q (cycle %d): %v", cycle, a.name, a.cycle, err)
		}
		a.arn = arn
		want := storageConfig{Arn: arn, Name: a.name, S3: &s3{a.bucket}, Tags: a.tags}
		if !reflect.DeepEqual(listed, want) {
			t.Errorf("cycle %d: storage configuration %+v (s3 %+v), written as %+v (s3 %+v)", cycle, listed, listed.S3, want, want.S3)
		}
	}
	for name, a := range l.storage {
		if !foundStor[name] {
			if err := a.resolve(a.outcome, false); err != nil {
				t.Errorf("cycle %d: storage configuration %q (cycle %d, %v, arn %q): %v", cycle, name, a.cycle, a.outcome, a.arn, err)
			}
		}
	}

	stageOrder, summaries := verifyListing[stageSummary](t, ctx, c, cycle, "ListStages", "stages", maxPages,
		func(s stageSummary) string { return s.Arn }, l.stageOrder)
	l.stageOrder = stageOrder
	n.listedStages = len(stageOrder)
	got := l.fetchStages(t, ctx, c, cycle, stageOrder)
	foundStage := map[string]bool{}
	for _, arn := range stageOrder {
		st, ok := got[arn]
		if !ok {
			continue // reported by fetchStages
		}
		if err := checkComplete(st.stage, arn, p.URL); err != nil {
			t.Errorf("cycle %d: %v", cycle, err)
			continue
		}
		if sum := summaries[arn]; sum.Name != st.stage.Name || !reflect.DeepEqual(sum.Tags, st.stage.Tags) || sum.ActiveSessionID != st.stage.ActiveSessionID {
			t.Errorf("cycle %d: ListStages has %+v, GetStage %+v", cycle, sum, st.stage)
		}
		if st.tags != nil && !reflect.DeepEqual(st.tags, st.stage.Tags) {
			t.Errorf("cycle %d: stage %s: ListTagsForResource %v, GetStage tags %v", cycle, arn, st.tags, st.stage.Tags)
		}
		a := l.stages[st.stage.Name]
		switch {
		case a == nil:
			t.Errorf("cycle %d: stage %s named %q, which no writer attempted", cycle, arn, st.stage.Name)
			continue
		case foundStage[a.name]:
			t.Errorf("cycle %d: two stages named %q", cycle, a.name)
			continue
		case a.arn != "" && a.arn != arn:
			t.Errorf("cycle %d: stage %q is %s, was %s", cycle, a.name, arn, a.arn)
		}
		foundStage[a.name] = true
		if a.outcome == unknown && !a.resolved && a.cycle == cycle {
			n.stagesFound++
		}
		if err := a.resolve(a.outcome, true); err != nil {
			t.Errorf("cycle %d: stage %q (cycle %d): %v", cycle, a.name, a.cycle, err)
		}
		a.arn = arn
		l.checkStage(t, cycle, a, st.stage, foundStorArn)
	}
	for name, a := range l.stages {
		if !foundStage[name] {
			if err := a.resolve(a.outcome, false); err != nil {
				t.Errorf("cycle %d: stage %q (cycle %d, %v, arn %q): %v", cycle, name, a.cycle, a.outcome, a.arn, err)
			}
			for _, ta := range l.tagWrites[a.arn] {
				if ta.outcome == acked {
					t.Errorf("cycle %d: acknowledged tag %s=%s of missing stage %q lost", cycle, ta.key, ta.value, name)
				}
			}
		}
	}
}

// checkStage compares a stage read back with what was written to it.
func (l *ledger) checkStage(t *testing.T, cycle int, a *stageAttempt, st stage, storArns map[string]bool) { // storArns: storage configurations found, by ARN
	t.Helper()
	if l.template != nil {
		want := *l.template
		want.StorageConfigurationArn = a.storageArn
		if !reflect.DeepEqual(*st.Recording, want) {
			t.Errorf("cycle %d: stage %q records with %+v, want %+v", cycle, a.name, *st.Recording, want)
		}
	}
	if a.outcome == acked {
		c := a.created
		if st.Name != c.Name || st.ActiveSessionID != c.ActiveSessionID || !reflect.DeepEqual(st.Recording, c.Recording) {
			t.Errorf("cycle %d: stage %q reads back as %+v (recording %+v), CreateStage acknowledged %+v (recording %+v)",
				cycle, a.name, st, st.Recording, c, c.Recording)
		}
	}
	if a.storageArn != "" {
		if !storArns[a.storageArn] {
			t.Errorf("cycle %d: stage %q records to storage configuration %s, which is gone", cycle, a.name, a.storageArn)
		}
	}
	// Tags: the creation tags, every acknowledged tag write, and nothing no one wrote.
	writes := l.tagWrites[st.Arn]
	for k, v := range a.tags {
		if got, ok := st.Tags[k]; !ok || got != v {
			t.Errorf("cycle %d: stage %q: creation tag %s=%s reads back as %q (present %v)", cycle, a.name, k, v, got, ok)
		}
	}
	for k, v := range st.Tags {
		if _, ok := a.tags[k]; ok {
			continue
		}
		if w := writes[k]; w == nil || w.value != v {
			t.Errorf("cycle %d: stage %q has tag %s=%s, which no writer wrote to it", cycle, a.name, k, v)
		}
	}
	for k, w := range writes {
		_, present := st.Tags[k]
		if w.outcome == unknown && !w.resolved && present && w.cycle == cycle {
			l.counts[cycle-1].tagsFound++
		}
		if err := w.resolve(w.outcome, present); err != nil {
			t.Errorf("cycle %d: stage %q: tag %s=%s (cycle %d, %v): %v", cycle, a.name, k, w.value, w.cycle, w.outcome, err)
		}
	}
}

// verifyListing pages through op twice and checks the listings agree, have no duplicate
// ARN, and start with prev (the listing after the previous restart: items are listed in
// creation order, and nothing is deleted). It returns the ARNs in order and items by ARN.
func verifyListing[T any](t *testing.T, ctx context.Context, c *servertest.Client, cycle int, op, member string, maxPages int,
	arnOf func(T) string, prev []string) ([]string, map[string]T) {
	t.Helper()
	var orders [2][]string
	byArn := map[string]T{}
	for i := range orders {
		raw, err := listAll(ctx, c, op, member, maxPages)
		if err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		items, err := decodeAll[T](raw)
		if err != nil {
			t.Fatalf("cycle %d: %s: %v", cycle, op, err)
		}
		for _, it := range items {
			orders[i] = append(orders[i], arnOf(it))
			if i == 0 {
				byArn[arnOf(it)] = it
			}
		}
	}
	if !slices.Equal(orders[0], orders[1]) {
		t.Errorf("cycle %d: %s listed %d items, then %d in another order or set", cycle, op, len(orders[0]), len(orders[1]))
	}
	if len(byArn) != len(orders[0]) {
		times := map[string]int{}
		for _, arn := range orders[0] {
			if times[arn]++; times[arn] == 2 {
				t.Errorf("cycle %d: %s lists %s more than once", cycle, op, arn)
			}
		}
	}
	if len(orders[0]) < len(prev) || !slices.Equal(orders[0][:len(prev)], prev) {
		t.Errorf("cycle %d: %s does not start with the %d items it listed after the previous restart, in that order", cycle, op, len(prev))
	}
	return orders[0], byArn
}

type fetched struct {
	stage stage
	tags  map[string]string // ListTagsForResource, for stages that had tag writes
}

// fetchStages GetStage's every listed stage (and lists the tags of those tag writes went
// to), fetchWorkers at a time.
func (l *ledger) fetchStages(t *testing.T, ctx context.Context, c *servertest.Client, cycle int, arns []string) map[string]fetched {
	t.Helper()
	out := make([]fetched, len(arns))
	errs := make([]error, len(arns))
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range fetchWorkers {
		wg.Add(1)
		go func() { // ends when every ARN is taken
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(arns) {
					return
				}
				st, err := getStage(ctx, c, arns[i])
				if err != nil {
					errs[i] = err
					continue
				}
				out[i].stage = st
				if len(l.tagWrites[arns[i]]) > 0 { // read-only while the writers are stopped
					out[i].tags, errs[i] = listTags(ctx, c, arns[i])
				}
			}
		}()
	}
	wg.Wait()
	m := make(map[string]fetched, len(arns))
	for i, arn := range arns {
		if errs[i] != nil {
			t.Errorf("cycle %d: listed stage: %v", cycle, errs[i])
			continue
		}
		m[arn] = out[i]
	}
	return m
}
