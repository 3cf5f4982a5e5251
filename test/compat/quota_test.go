package compat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/footlight/footlight/internal/servertest"
)

// boto3Burst is what boto3_quotas.py prints.
type boto3Burst struct {
	Succeeded     int          `json:"succeeded"` // get_stage calls before the first error
	Error         *clientError `json:"error"`
	RetriedArn    string       `json:"retriedArn"`
	RetryAttempts int          `json:"retryAttempts"`
}

// quotaRun is one server's answers to the quota scenario.
type quotaRun struct {
	storageErr string // the aws CLI's stderr for the 6th storage configuration; "" if it was made
	burst      boto3Burst
}

// runQuotaScenario starts the binary with args, makes 5 storage configurations and then a 6th
// with the aws CLI (which retries a 429 by itself), and bursts get_stage with boto3.
func runQuotaScenario(t *testing.T, args ...string) quotaRun {
	t.Helper()
	p := servertest.StartBinary(t, t.TempDir(), args...)
	env := p.Env()
	var run quotaRun
	create := func(i int) cliResult {
		return runAWS(t, env, p.URL, "ivs-realtime", "create-storage-configuration",
			"--name", fmt.Sprint("quota-", i), "--s3", "bucketName=quota-bucket")
	}
	for i := 1; i <= 5; i++ {
		if res := create(i); res.Code != 0 {
			t.Fatalf("storage configuration %d of 5:\n%s", i, res)
		}
	}
	if res := create(6); res.Code != 0 {
		if res.Code != cliServiceErrorExit {
			t.Fatalf("6th storage configuration: want success or exit %d:\n%s", cliServiceErrorExit, res)
		}
		run.storageErr = res.Stderr
	}
	var st cliStageOut
	awsJSON(t, env, p.URL, &st, "ivs-realtime", "create-stage", "--name", "quota-stage")
	runClientScript(t, env, &run.burst, "python3", "python3 -m pip install 'boto3>=1.34'", "boto3_quotas.py", st.Stage.Arn)
	if run.burst.RetriedArn != st.Stage.Arn {
		t.Errorf("get_stage with boto3's default retries: stage %q, want %q", run.burst.RetriedArn, st.Stage.Arn)
	}
	return run
}

// TestAWSQuotasWithRealClients: with --aws-quotas, the aws CLI's 6th storage configuration is
// refused with 402 ServiceQuotaExceededException (an account holds 5), and boto3, retries
// off, gets 429 ThrottlingException within a burst of GetStage (5 TPS), after the 5 calls
// the full bucket allows; with its default retries it gets through. Without the flag, both
// succeed: the 6th storage configuration is made and 200 GetStage calls in a row answer.
func TestAWSQuotasWithRealClients(t *testing.T) {
	t.Parallel()
	t.Run("on", func(t *testing.T) {
		t.Parallel()
		run := runQuotaScenario(t, "--aws-quotas")
		if run.storageErr == "" {
			t.Fatalf("the 6th storage configuration was created with --aws-quotas")
		}
		if want := "An error occurred (ServiceQuotaExceededException) when calling the CreateStorageConfiguration operation: "; !strings.Contains(run.storageErr, want) ||
			!strings.Contains(run.storageErr, "at most 5 storage configurations") {
			t.Errorf("6th storage configuration: stderr %q, want %q and the quota", run.storageErr, want)
		}
		b := run.burst
		if b.Error == nil {
			t.Fatalf("boto3: 200 get_stage calls in a row, none throttled")
		}
		checkClientError(t, "get_stage burst", *b.Error, "ThrottlingException", 429)
		if b.Error.Message != "Rate exceeded" {
			t.Errorf("get_stage burst: message %q, want \"Rate exceeded\"", b.Error.Message)
		}
		if b.Succeeded < 5 {
			t.Errorf("get_stage burst: throttled after %d calls; a full bucket allows 5", b.Succeeded)
		}
		t.Logf("boto3: throttled after %d get_stage calls; with default retries: %d retries", b.Succeeded, b.RetryAttempts)
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		run := runQuotaScenario(t)
		if run.storageErr != "" {
			t.Errorf("6th storage configuration refused without --aws-quotas: %s", run.storageErr)
		}
		if b := run.burst; b.Error != nil || b.Succeeded != 200 {
			t.Errorf("boto3 without --aws-quotas: %d calls succeeded, then %+v; want 200 and no error", b.Succeeded, b.Error)
		}
	})
}
