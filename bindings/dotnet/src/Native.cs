// The C ABI of liblicense_client (bindings/c/include/license_client.h), by P/Invoke.
// Strings cross as UTF-8 bytes in both directions, whatever the platform's ANSI code page.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace LicenseClient
{
    internal static class Native
    {
        private const string Library = "license_client";

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_client_new(byte[] configJson, out ClientHandle client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lc_client_free(IntPtr client);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_check(ClientHandle client, uint mode, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_activate(ClientHandle client, byte[] licenseKey, byte[] machineName, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_activate_replacing(ClientHandle client, byte[] licenseKey, byte[] machineId, byte[] machineName, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_machines_for_key(ClientHandle client, byte[] licenseKey, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_deactivate(ClientHandle client, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_deactivate_machine(ClientHandle client, byte[] machineId, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_machines(ClientHandle client, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_offline_request(ClientHandle client, byte[] licenseKey, out IntPtr requestCode);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_install_offline_response(ClientHandle client, byte[] responseCode, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_deactivate_offline(ClientHandle client, out IntPtr deactivationCode);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_checkout(ClientHandle client, byte[] licenseKey, byte[] machineName, uint borrowDays, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_checkin(ClientHandle client, out IntPtr verdictJson);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_start_trial(ClientHandle client, out IntPtr verdictJson);

        /// <summary>lc_seat_lost_callback: userdata, code, message (UTF-8, valid during the call).</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void SeatLostCallback(IntPtr userdata, IntPtr code, IntPtr message);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern Status lc_set_seat_lost_callback(ClientHandle client, SeatLostCallback callback, IntPtr userdata);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void lc_string_free(IntPtr s);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lc_last_error();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lc_status_name(uint status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr lc_version();

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/>, or null.</summary>
        internal static byte[] Utf8(string text)
        {
            if (text == null) return null;
            var bytes = Encoding.UTF8.GetBytes(text);
            Array.Resize(ref bytes, bytes.Length + 1);
            return bytes;
        }

        // Marshal.PtrToStringUTF8 where the runtime has it (Mono, .NET Core 1.1 and later):
        // one native scan for the length. .NET Framework lacks it; there the bytes are
        // read one by one.
        private static readonly Func<IntPtr, string> PtrToStringUtf8 = FindPtrToStringUtf8();

        private static Func<IntPtr, string> FindPtrToStringUtf8()
        {
            var method = typeof(Marshal).GetMethod("PtrToStringUTF8", new[] { typeof(IntPtr) });
            return method == null ? null : (Func<IntPtr, string>)Delegate.CreateDelegate(typeof(Func<IntPtr, string>), method);
        }

        /// <summary>The UTF-8 string at <paramref name="ptr"/> (not freed), or null.</summary>
        internal static string FromUtf8(IntPtr ptr)
        {
            if (ptr == IntPtr.Zero) return null;
            if (PtrToStringUtf8 != null) return PtrToStringUtf8(ptr);
            int length = 0;
            while (Marshal.ReadByte(ptr, length) != 0) length++;
            var bytes = new byte[length];
            Marshal.Copy(ptr, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Takes a string the library returned: copies it and frees it.</summary>
        internal static string Take(IntPtr ptr)
        {
            try { return FromUtf8(ptr); }
            finally { if (ptr != IntPtr.Zero) lc_string_free(ptr); }
        }

        // LICENSE_CLIENT_LIBRARY names the library file to use instead of the one beside
        // the assembly. On Linux it is loaded first with dlopen (RTLD_GLOBAL): the library
        // carries the soname liblicense_client.so, so the runtime's own lookup of
        // "license_client" then finds the loaded one.
        // Mono resolves a P/Invoke before running its class's static constructor, so
        // Client's static constructor calls this before any call into the library.
        internal static void PreloadFromEnvironment()
        {
            var path = Environment.GetEnvironmentVariable("LICENSE_CLIENT_LIBRARY");
            if (string.IsNullOrEmpty(path) || Environment.OSVersion.Platform != PlatformID.Unix) return;
            IntPtr loaded;
            try { loaded = dlopen(path, RTLD_NOW | RTLD_GLOBAL); }
            catch (DllNotFoundException) { return; } // not glibc (macOS): the usual lookup applies
            if (loaded == IntPtr.Zero)
            {
                throw new DllNotFoundException(
                    "LICENSE_CLIENT_LIBRARY names " + path + ", which could not be loaded: " + FromUtf8(dlerror()));
            }
        }

        private const int RTLD_NOW = 2;
        private const int RTLD_GLOBAL = 0x100;

        [DllImport("libdl.so.2")]
        private static extern IntPtr dlopen(string file, int mode);

        [DllImport("libdl.so.2")]
        private static extern IntPtr dlerror();
    }

    /// <summary>The native client; freed once, by the runtime, however the Client ends.</summary>
    internal sealed class ClientHandle : SafeHandle
    {
        public ClientHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.lc_client_free(handle);
            return true;
        }
    }
}
