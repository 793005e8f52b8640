// The C# package against a real broker and the ORDS emulator (license-stack), run by
// bindings/dotnet/test.sh under Mono. Prints "N passed, N failed"; exits 1 on a failure.
using System;
using System.Collections.Generic;
using System.IO;
using LicenseClient;

internal static class ClientTests
{
    private static readonly string Url = Env("LC_TEST_BROKER_URL");
    private static readonly string Keys = Env("LC_TEST_TRUSTED_KEYS");
    private static readonly string Key = Env("LC_TEST_KEY");
    private static readonly string Forged = Env("LC_TEST_FORGED_KEY");
    private static readonly string TwoSeats = Env("LC_TEST_TWO_SEAT_KEY");
    private static readonly string Floating = Env("LC_TEST_FLOATING_KEY");
    private static int passed, failed;

    private static int Main()
    {
        Run("the whole lifecycle", TheWholeLifecycle);
        Run("a forged key is a verified NOT_FOUND", AForgedKeyIsNotFound);
        Run("the seats of a key not stored here can be listed", SeatsOfAKeyCanBeListed);
        Run("bad input throws by kind, naming the problem", BadInputThrowsByKind);
        Run("the async form answers", TheAsyncFormAnswers);
        Run("a disposed client refuses calls", ADisposedClientRefusesCalls);
        Run("offline activation through the broker and back", OfflineActivation);
        Run("a floating seat is checked out and in, and a trial starts once", FloatingSeatsAndTrials);
        Run("a lost floating seat raises SeatLost", ALostSeatRaisesSeatLost);
        Console.WriteLine("{0} passed, {1} failed", passed, failed);
        return failed == 0 ? 0 : 1;
    }

    private static void TheWholeLifecycle()
    {
        using (var c = NewClient())
        {
            Equal("NO_LICENSE", c.Check(CheckMode.Offline).Code);
            var activated = c.Activate(Key, "C# test");
            True(activated.Licensed && activated.Code == "VALID" && activated.Source == "online", activated.Json);
            var online = c.Check(CheckMode.Refresh);
            True(online.Code == "VALID" && online.Source == "online", online.Json);
            var offline = c.Check(CheckMode.Offline);
            True(offline.Licensed && offline.Source == "cache", offline.Json);
            True(offline.HasEntitlement("export") && !offline.HasEntitlement("print"), offline.Json);
            Equal("export,sync", string.Join(",", offline.Entitlements));
            Equal("desktop-pro", offline.Product);
            True(offline.ExpiresAt.HasValue && offline.OfflineUntil.HasValue && offline.ExitCode == 0, offline.Json);
            Equal("DEACTIVATED", c.Deactivate().Code);
            Equal("NO_LICENSE", c.Check(CheckMode.Offline).Code);
            var e = Throws<NoLicenseException>(() => c.Deactivate());
            True(e.Kind == Status.NoLicense && e.Code == "NO_LICENSE" && e.Message.Contains("activate"), e.Message);
        }
    }

    private static void AForgedKeyIsNotFound()
    {
        using (var c = NewClient())
        {
            var v = c.Activate(Forged);
            True(!v.Licensed && v.Code == "NOT_FOUND" && v.ExitCode == 1, v.Json);
        }
    }

    private static void SeatsOfAKeyCanBeListed()
    {
        using (var c = NewClient())
        {
            var v = c.ListMachines(TwoSeats);
            True(v.Machines != null && v.Machines.Max == 2, v.Json);
            Throws<NoLicenseException>(() => c.ListMachines());
            var unknown = Throws<LicenseClientException>(() => c.Activate(TwoSeats, null, "ffffffffffff"));
            True(unknown.Kind == Status.UnknownMachine && unknown.Message.Contains("ffffffffffff"), unknown.Message);
        }
    }

    private static void BadInputThrowsByKind()
    {
        var bad = Throws<InvalidArgumentException>(() => new Client(new ClientOptions
        {
            BrokerUrl = Url, AppId = "a", TrustedKeys = "k1:not-a-key",
        }));
        True(bad.Message.Contains("trusted_keys") && bad.Code == "INVALID_ARGUMENT", bad.Message);
        var url = Throws<InvalidArgumentException>(() => new Client(new ClientOptions
        {
            BrokerUrl = "ftp://example.com", AppId = "a", TrustedKeys = Keys,
        }));
        True(url.Message.Contains("ftp://"), url.Message);
        var store = Throws<InvalidArgumentException>(() => new Client(new ClientOptions
        {
            BrokerUrl = Url, AppId = "a", TrustedKeys = Keys, KeyStore = "cloud",
        }));
        True(store.Message.Contains("cloud"), store.Message);
        using (var c = NewClient())
        {
            var key = Throws<InvalidKeyException>(() => c.Activate("not-a-key"));
            True(key.Kind == Status.InvalidKey, key.Message);
            Throws<ArgumentNullException>(() => c.Activate(null));
        }
    }

    private static void TheAsyncFormAnswers()
    {
        using (var c = NewClient())
        {
            var v = c.CheckAsync(CheckMode.Refresh).Result;
            Equal("NO_LICENSE", v.Code);
        }
    }

    private static void ADisposedClientRefusesCalls()
    {
        var c = NewClient();
        c.Dispose();
        Throws<ObjectDisposedException>(() => c.Check());
        c.Dispose();
    }

    private static void OfflineActivation()
    {
        using (var c = NewClient())
        using (var other = NewClient())
        {
            var request = c.OfflineRequest(Key);
            True(System.Text.RegularExpressions.Regex.IsMatch(request, "^[0-9A-HJKMNP-TV-Z-]+$"), request);
            var answer = Post("/v1/license/offline/activate", "{\"request\":\"" + request + "\"}");
            True(answer.Contains("\"code\":\"VALID\""), answer);
            var response = System.Text.RegularExpressions.Regex.Match(answer, "\"response\":\"([0-9A-Z-]+)\"").Groups[1].Value;
            Throws<InvalidArgumentException>(() => other.InstallOfflineResponse(response));
            var installed = c.InstallOfflineResponse(response);
            True(installed.Licensed && installed.Code == "VALID", installed.Code);
            True(c.Check(CheckMode.Offline).Licensed, "licensed offline");
            var code = c.DeactivateOffline();
            Equal("NO_LICENSE", c.Check(CheckMode.Offline).Code);
            var freed = Post("/v1/license/offline/deactivate", "{\"code\":\"" + code + "\"}");
            True(freed.Contains("\"payload\""), freed);
        }
    }

    /// <summary>POSTs JSON to the broker; the answer's body (a non-2xx throws).</summary>
    private static string Post(string path, string json)
    {
        using (var web = new System.Net.WebClient())
        {
            web.Headers[System.Net.HttpRequestHeader.ContentType] = "application/json";
            return web.UploadString(Url.TrimEnd('/') + path, json);
        }
    }

    private static void FloatingSeatsAndTrials()
    {
        using (var a = NewClient())
        using (var b = NewClient())
        using (var c = NewClient())
        {
            var lost = new List<string>();
            a.SeatLost += (code, message) => { lock (lost) lost.Add(code); };
            Equal("VALID", a.Checkout(Floating, "C# a").Code);
            Equal("VALID", b.Checkout(Floating).Code);
            var full = c.Checkout(Floating);
            True(!full.Licensed && full.Code == "SEATS_IN_USE" && full.Message.Contains("C# a"), full.Json);
            Equal("DEACTIVATED", a.Checkin().Code);
            Equal("VALID", c.Checkout(Floating, null, 2).Code);
            Equal("DEACTIVATED", b.Checkin().Code);
            Equal("DEACTIVATED", c.Checkin().Code);
            lock (lost) True(lost.Count == 0, string.Join(",", lost));
            var trial = a.StartTrial();
            True(trial.Licensed && trial.Code == "TRIAL", trial.Json);
            True(a.StartTrial().ExpiresAt == trial.ExpiresAt, trial.Json);
        }
    }

    // Two clients with one machine id are one machine to the broker: when the second
    // returns the seat, the first's next background renewal (about every second under
    // license-stack's 3 s lease) finds a seat taken anew and reports the first as lost.
    private static void ALostSeatRaisesSeatLost()
    {
        var machineId = "dotnet-lost-" + Guid.NewGuid();
        using (var app = NewClient(machineId))
        using (var other = NewClient(machineId))
        using (var fired = new System.Threading.ManualResetEventSlim(false))
        {
            string code = null, message = null;
            app.SeatLost += (c, m) => { code = c; message = m; fired.Set(); };
            Equal("VALID", app.Checkout(Floating).Code);
            // The broker tells seats apart by the second they were taken in.
            System.Threading.Thread.Sleep(1200);
            Equal("VALID", other.Checkout(Floating).Code);
            Equal("DEACTIVATED", other.Checkin().Code);
            True(fired.Wait(TimeSpan.FromSeconds(10)), "SeatLost was not raised within 10 s");
            Equal("DEACTIVATED", code);
            True(!string.IsNullOrEmpty(message), "SeatLost had no message");
            app.Checkin();
        }
    }

    private static Client NewClient(string machineId = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "lc-dotnet-" + Guid.NewGuid());
        return new Client(new ClientOptions
        {
            BrokerUrl = Url,
            AppId = "com.example.dotnet",
            TrustedKeys = Keys,
            Product = "desktop-pro",
            DataDir = dir,
            KeyStore = "file",
            MachineId = machineId ?? "dotnet-" + Guid.NewGuid(),
            TimeoutMs = 5000,
        });
    }

    private static void Run(string name, Action test)
    {
        try
        {
            test();
            passed++;
            Console.WriteLine("ok   " + name);
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine("FAIL " + name + ": " + e);
        }
    }

    private static T Throws<T>(Action action) where T : Exception
    {
        try { action(); }
        catch (T e) { return e; }
        catch (Exception e) { throw new Exception("expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message); }
        throw new Exception("expected " + typeof(T).Name + ", nothing was thrown");
    }

    private static void True(bool condition, string detail)
    {
        if (!condition) throw new Exception("not so: " + detail);
    }

    private static void Equal(string expected, string actual)
    {
        if (expected != actual) throw new Exception("expected " + expected + ", got " + actual);
    }

    private static string Env(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(value)) throw new Exception("set " + name + " (bindings/run-tests.sh does)");
        return value;
    }
}
