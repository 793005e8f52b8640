using System;

namespace LicenseClient
{
    /// <summary>A call did not reach a verdict. <see cref="Kind"/> says why; the message
    /// says what to do. Subclasses exist for each kind.</summary>
    public class LicenseClientException : Exception
    {
        public LicenseClientException(Status kind, string message) : base(message)
        {
            Kind = kind;
        }

        /// <summary>The status of the C ABI.</summary>
        public Status Kind { get; private set; }

        /// <summary>The kind as the other packages spell it, e.g. "RATE_LIMITED".</summary>
        public string Code
        {
            get { return Native.FromUtf8(Native.lc_status_name((uint)Kind)).Substring(3); }
        }

        internal static LicenseClientException For(Status status, string message)
        {
            switch (status)
            {
                case Status.InvalidKey: return new InvalidKeyException(message);
                case Status.InvalidArgument: return new InvalidArgumentException(status, message);
                case Status.NoBrokerUrl: return new InvalidArgumentException(status, message);
                case Status.NoLicense: return new NoLicenseException(message);
                case Status.BrokerUnreachable: return new BrokerUnreachableException(message);
                case Status.RateLimited: return new RateLimitedException(message);
                case Status.ResponseUntrusted: return new ResponseUntrustedException(message);
                case Status.KeyStoreUnavailable:
                case Status.CacheUnavailable:
                case Status.MachineIdUnavailable:
                    return new MachineUnavailableException(status, message);
                default: return new LicenseClientException(status, message);
            }
        }
    }

    /// <summary>The license key is not a license key (a typo, a truncated paste).</summary>
    public class InvalidKeyException : LicenseClientException
    {
        public InvalidKeyException(string message) : base(Status.InvalidKey, message) { }
    }

    /// <summary>A configuration member or an argument is wrong; the message names it.</summary>
    public class InvalidArgumentException : LicenseClientException
    {
        public InvalidArgumentException(Status kind, string message) : base(kind, message) { }
    }

    /// <summary>No license key is stored on this machine: activate first.</summary>
    public class NoLicenseException : LicenseClientException
    {
        public NoLicenseException(string message) : base(Status.NoLicense, message) { }
    }

    /// <summary>The license server could not be reached, or did not answer in time.</summary>
    public class BrokerUnreachableException : LicenseClientException
    {
        public BrokerUnreachableException(string message) : base(Status.BrokerUnreachable, message) { }
    }

    /// <summary>The license server refused for now (HTTP 429); the message says when to retry.</summary>
    public class RateLimitedException : LicenseClientException
    {
        public RateLimitedException(string message) : base(Status.RateLimited, message) { }
    }

    /// <summary>The license server's answer failed verification.</summary>
    public class ResponseUntrustedException : LicenseClientException
    {
        public ResponseUntrustedException(string message) : base(Status.ResponseUntrusted, message) { }
    }

    /// <summary>This machine's key store, data directory or machine id is not usable.</summary>
    public class MachineUnavailableException : LicenseClientException
    {
        public MachineUnavailableException(Status kind, string message) : base(kind, message) { }
    }
}
