// The C# side of the FFI benchmark (bench/ffi/run.sh), run by Mono; see bench.c for the
// output.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using LicenseClient;

internal static class Bench
{
    private static int Main()
    {
        var n = int.Parse(Environment.GetEnvironmentVariable("LC_BENCH_N") ?? "1000");
        var rounds = int.Parse(Environment.GetEnvironmentVariable("LC_BENCH_ROUNDS") ?? "5");
        Func<string, string> env = Environment.GetEnvironmentVariable;
        var options = new ClientOptions
        {
            BrokerUrl = env("LC_BENCH_BROKER_URL"),
            AppId = env("LC_BENCH_APP_ID"),
            TrustedKeys = env("LC_BENCH_TRUSTED_KEYS"),
            Product = env("LC_BENCH_PRODUCT"),
            DataDir = env("LC_BENCH_DATA_DIR"),
            KeyStore = "file",
            MachineId = env("LC_BENCH_MACHINE_ID"),
        };
        using (var client = new Client(options))
        {
            // The two kinds alternate round by round, so a noisy moment hits both alike.
            double offline = double.MaxValue, cached = double.MaxValue;
            for (int r = 0; r < rounds; r++)
            {
                offline = Math.Min(offline, RoundNs(client, CheckMode.Offline, n));
                cached = Math.Min(cached, RoundNs(client, CheckMode.Auto, n));
            }
            Console.WriteLine("offline_ns={0:F0} cached_ns={1:F0}", offline, cached);
        }
        return 0;
    }

    private static double RoundNs(Client client, CheckMode mode, int n)
    {
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            if (!client.Check(mode).Licensed) throw new Exception("Bench.cs: the check is not licensed");
        }
        return watch.Elapsed.TotalMilliseconds * 1e6 / n;
    }
}
