using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace LicenseClient
{
    /// <summary>What a Client is made from: the members of the C ABI's config_json.
    /// BrokerUrl, AppId and TrustedKeys are required.</summary>
    public sealed class ClientOptions
    {
        public string BrokerUrl { get; set; }
        public string AppId { get; set; }
        /// <summary>The pinned verdict-signing keys, "kid:base64url[,…]".</summary>
        public string TrustedKeys { get; set; }
        public string AppVersion { get; set; }
        public string Product { get; set; }
        /// <summary>Unix seconds: when this build was made (for perpetual-fallback licenses).</summary>
        public long? BuildTime { get; set; }
        public string DataDir { get; set; }
        /// <summary>"os" (default), "file", "os_else_file" or "memory".</summary>
        public string KeyStore { get; set; }
        public string MachineId { get; set; }
        public long? TimeoutMs { get; set; }

        internal string ToJson()
        {
            var members = new List<string>();
            Add(members, "broker_url", BrokerUrl);
            Add(members, "app_id", AppId);
            Add(members, "trusted_keys", TrustedKeys);
            Add(members, "app_version", AppVersion);
            Add(members, "product", Product);
            if (BuildTime.HasValue) members.Add("\"build_time\":" + BuildTime.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Add(members, "data_dir", DataDir);
            Add(members, "key_store", KeyStore);
            Add(members, "machine_id", MachineId);
            if (TimeoutMs.HasValue) members.Add("\"timeout_ms\":" + TimeoutMs.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return "{" + string.Join(",", members) + "}";
        }

        private static void Add(List<string> members, string name, string value)
        {
            if (value != null) members.Add(Json.Quote(name) + ":" + Json.Quote(value));
        }
    }

    /// <summary>One app's license client over liblicense_client. Thread-safe; dispose it when
    /// done. The blocking calls wait for the network (at most the timeout); from a UI
    /// thread, await the Async forms.</summary>
    public sealed class Client : IDisposable
    {
        private readonly ClientHandle handle;

        static Client()
        {
            Native.PreloadFromEnvironment();
        }

        public Client(ClientOptions options)
        {
            if (options == null) throw new ArgumentNullException("options");
            ClientHandle created;
            Status status;
            try
            {
                status = Native.lc_client_new(Native.Utf8(options.ToJson()), out created);
            }
            catch (DllNotFoundException e)
            {
                throw new DllNotFoundException(NotFound, e);
            }
            if (status != Status.Ok)
            {
                created.Dispose();
                throw Failure(status);
            }
            handle = created;
        }

        private const string NotFound =
            "the native license_client library was not found: looked for liblicense_client.so " +
            "(license_client.dll on Windows, liblicense_client.dylib on macOS) beside the app, in " +
            "runtimes/<rid>/native/ and on the system's library path; ship it there, or set " +
            "LICENSE_CLIENT_LIBRARY to its path";

        /// <summary>The version of the native library.</summary>
        public static string LibraryVersion
        {
            get { return Native.FromUtf8(Native.lc_version()); }
        }

        /// <summary>The start-up check.</summary>
        public Verdict Check(CheckMode mode = CheckMode.Auto)
        {
            IntPtr json;
            return Finish(Native.lc_check(Live(), (uint)mode, out json), json);
        }

        /// <summary>Claims a seat for this machine and stores the key; a MACHINE_LIMIT
        /// verdict stores nothing and lists the seats. With <paramref name="replace"/> (a
        /// seat id from that list), frees that machine's seat first: the way in with only
        /// the key.</summary>
        public Verdict Activate(string licenseKey, string machineName = null, string replace = null)
        {
            if (licenseKey == null) throw new ArgumentNullException("licenseKey");
            IntPtr json;
            var status = replace == null
                ? Native.lc_activate(Live(), Native.Utf8(licenseKey), Native.Utf8(machineName), out json)
                : Native.lc_activate_replacing(Live(), Native.Utf8(licenseKey), Native.Utf8(replace), Native.Utf8(machineName), out json);
            return Finish(status, json);
        }

        /// <summary>Frees this machine's seat, then removes the key and the lease.</summary>
        public Verdict Deactivate()
        {
            IntPtr json;
            return Finish(Native.lc_deactivate(Live(), out json), json);
        }

        /// <summary>Frees another machine's seat by its id (from Machines).</summary>
        public Verdict DeactivateMachine(string machineId)
        {
            if (machineId == null) throw new ArgumentNullException("machineId");
            IntPtr json;
            return Finish(Native.lc_deactivate_machine(Live(), Native.Utf8(machineId), out json), json);
        }

        /// <summary>Lists the machines holding the seats of the stored license, or of
        /// <paramref name="licenseKey"/> (a key this machine need not have stored).</summary>
        public Verdict ListMachines(string licenseKey = null)
        {
            IntPtr json;
            var status = licenseKey == null
                ? Native.lc_machines(Live(), out json)
                : Native.lc_machines_for_key(Live(), Native.Utf8(licenseKey), out json);
            return Finish(status, json);
        }

        /// <summary>Offline activation, step 1, with no network: a request code (letters,
        /// digits and dashes) to take to the license server's /offline page. The pending
        /// request is kept in the data directory: only this machine can install the
        /// answer.</summary>
        public string OfflineRequest(string licenseKey)
        {
            if (licenseKey == null) throw new ArgumentNullException("licenseKey");
            IntPtr code;
            var status = Native.lc_offline_request(Live(), Native.Utf8(licenseKey), out code);
            if (status != Status.Ok) throw Failure(status);
            return Native.Take(code);
        }

        /// <summary>Offline activation, step 2: installs the license server's response
        /// code, verified like an online verdict. InvalidArgumentException when it does not
        /// answer this machine's pending request.</summary>
        public Verdict InstallOfflineResponse(string responseCode)
        {
            if (responseCode == null) throw new ArgumentNullException("responseCode");
            IntPtr json;
            return Finish(Native.lc_install_offline_response(Live(), Native.Utf8(responseCode), out json), json);
        }

        /// <summary>For a machine activated offline: removes the key and the lease and
        /// returns a deactivation code, signed by this machine, that frees its seat at
        /// /offline.</summary>
        public string DeactivateOffline()
        {
            IntPtr code;
            var status = Native.lc_deactivate_offline(Live(), out code);
            if (status != Status.Ok) throw Failure(status);
            return Native.Take(code);
        }

        /// <summary>Checks a seat of a floating license out for this run of the app and
        /// stores the key; the library renews it in the background until Checkin, Dispose
        /// or its loss (the SeatLost event). SEATS_IN_USE lists the holders in Machines;
        /// <paramref name="borrowDays"/> above 0 holds the seat for offline use (capped by
        /// the license).</summary>
        public Verdict Checkout(string licenseKey, string machineName = null, uint borrowDays = 0)
        {
            if (licenseKey == null) throw new ArgumentNullException("licenseKey");
            IntPtr json;
            var status = Native.lc_checkout(Live(), Native.Utf8(licenseKey), Native.Utf8(machineName), borrowDays, out json);
            return Finish(status, json);
        }

        /// <summary>Stops the renewal and returns this machine's floating seat (DEACTIVATED).</summary>
        public Verdict Checkin()
        {
            IntPtr json;
            return Finish(Native.lc_checkin(Live(), out json), json);
        }

        /// <summary>Starts (or finds) this machine's trial of the client's product: TRIAL
        /// until ExpiresAt, then TRIAL_EXPIRED; NO_TRIAL for a product without one.</summary>
        public Verdict StartTrial()
        {
            IntPtr json;
            return Finish(Native.lc_start_trial(Live(), out json), json);
        }

        private Native.SeatLostCallback seatLostCallback;
        private Action<string, string> seatLost;

        /// <summary>Raised once, on a thread of the library's, with the code and message,
        /// when the floating seat Checkout took is lost; keep the handler short (post to
        /// the UI thread).</summary>
        public event Action<string, string> SeatLost
        {
            add
            {
                lock (this)
                {
                    seatLost += value;
                    if (seatLostCallback != null) return;
                    // Kept in a field: the library calls it until the client is disposed.
                    seatLostCallback = (userdata, code, message) =>
                    {
                        var handlers = seatLost;
                        try
                        {
                            if (handlers != null) handlers(Native.FromUtf8(code), Native.FromUtf8(message));
                        }
                        catch (Exception)
                        {
                            // Nothing may unwind into the library.
                        }
                    };
                    var status = Native.lc_set_seat_lost_callback(Live(), seatLostCallback, IntPtr.Zero);
                    if (status != Status.Ok) throw Failure(status);
                }
            }
            remove
            {
                lock (this) { seatLost -= value; }
            }
        }

        public Task<Verdict> CheckAsync(CheckMode mode = CheckMode.Auto)
        {
            return Task.Run(() => Check(mode));
        }

        public Task<Verdict> ActivateAsync(string licenseKey, string machineName = null, string replace = null)
        {
            return Task.Run(() => Activate(licenseKey, machineName, replace));
        }

        public Task<Verdict> DeactivateAsync()
        {
            return Task.Run(() => Deactivate());
        }

        public void Dispose()
        {
            handle.Dispose();
        }

        private ClientHandle Live()
        {
            if (handle.IsClosed) throw new ObjectDisposedException("Client");
            return handle;
        }

        private static Verdict Finish(Status status, IntPtr json)
        {
            if (status != Status.Ok) throw Failure(status);
            return Verdict.Parse(Native.Take(json));
        }

        private static LicenseClientException Failure(Status status)
        {
            // Read on the thread that made the call: the message is per thread.
            return LicenseClientException.For(status, Native.FromUtf8(Native.lc_last_error()) ?? status.ToString());
        }
    }
}
