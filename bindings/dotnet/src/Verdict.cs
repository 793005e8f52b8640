using System;
using System.Collections.Generic;
using System.Linq;

namespace LicenseClient
{
    /// <summary>May the app run? <see cref="Licensed"/> decides; <see cref="Code"/> says why
    /// ("VALID", "MACHINE_LIMIT", …); <see cref="Message"/> says what to do, for a person.
    /// Every member of the JSON that `license-check --json` prints; <see cref="Json"/> is
    /// that JSON as received.</summary>
    public sealed class Verdict
    {
        public bool Licensed { get; private set; }
        public string Code { get; private set; }
        /// <summary>"online" or "cache".</summary>
        public string Source { get; private set; }
        /// <summary>When the license expires (signed), unix seconds.</summary>
        public long? ExpiresAt { get; private set; }
        /// <summary>Until when the saved verdict may be used offline (signed), unix seconds.</summary>
        public long? OfflineUntil { get; private set; }
        public string Message { get; private set; }
        /// <summary>The seats, for a license that limits machines; null otherwise.</summary>
        public Machines Machines { get; private set; }
        public string Product { get; private set; }
        /// <summary>What the license lets the app do (only while licensed).</summary>
        public IReadOnlyList<string> Entitlements { get; private set; }
        /// <summary>0 licensed, 1 not licensed, 2 undetermined (the CLI's exit codes).</summary>
        public int ExitCode { get; private set; }
        /// <summary>The technical cause behind the message (for a log), or null.</summary>
        public string Detail { get; private set; }
        /// <summary>The JSON the library returned.</summary>
        public string Json { get; private set; }

        /// <summary>Whether the license entitles the app to <paramref name="name"/> now.</summary>
        public bool HasEntitlement(string name)
        {
            return Licensed && Entitlements.Contains(name);
        }

        public override string ToString()
        {
            return Code + ": " + Message;
        }

        internal static Verdict Parse(string json)
        {
            var o = (Dictionary<string, object>)LicenseClient.Json.Parse(json);
            var seats = o["machines"] as Dictionary<string, object>;
            return new Verdict
            {
                Licensed = (bool)o["licensed"],
                Code = (string)o["code"],
                Source = (string)o["source"],
                ExpiresAt = (long?)o["expires_at"],
                OfflineUntil = (long?)o["offline_until"],
                Message = (string)o["message"],
                Machines = seats == null ? null : new Machines(seats),
                Product = (string)o["product"],
                Entitlements = ((List<object>)o["entitlements"]).Cast<string>().ToList().AsReadOnly(),
                ExitCode = (int)(long)o["exit_code"],
                Detail = o.ContainsKey("detail") ? (string)o["detail"] : null,
                Json = json,
            };
        }
    }

    /// <summary>The license's seats: <see cref="Max"/> is null when only counted.</summary>
    public sealed class Machines
    {
        internal Machines(Dictionary<string, object> o)
        {
            Used = (long)o["used"];
            Max = (long?)o["max"];
            var list = o.ContainsKey("list") ? o["list"] as List<object> : null;
            List = (list ?? new List<object>())
                .Select(m => new Machine((Dictionary<string, object>)m)).ToList().AsReadOnly();
        }

        public long Used { get; private set; }
        public long? Max { get; private set; }
        /// <summary>The machines holding the seats, where the answer lists them.</summary>
        public IReadOnlyList<Machine> List { get; private set; }
    }

    /// <summary>A machine holding a seat; <see cref="Id"/> is what DeactivateMachine takes.</summary>
    public sealed class Machine
    {
        internal Machine(Dictionary<string, object> o)
        {
            Id = (string)o["id"];
            Name = (string)o["name"];
            LastSeen = (long)o["last_seen"];
            Current = (bool)o["current"];
        }

        public string Id { get; private set; }
        public string Name { get; private set; }
        /// <summary>Unix seconds.</summary>
        public long LastSeen { get; private set; }
        /// <summary>True for the machine that asked.</summary>
        public bool Current { get; private set; }
    }
}
