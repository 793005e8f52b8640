namespace LicenseClient
{
    /// <summary>lc_status: the result of every call of the C ABI. The numbers are stable.</summary>
    public enum Status : uint
    {
        Ok = 0,
        InvalidKey = 1,
        InvalidArgument = 2,
        NoBrokerUrl = 3,
        NoLicense = 4,
        MachineIdUnavailable = 5,
        KeyStoreUnavailable = 6,
        CacheUnavailable = 7,
        BrokerUnreachable = 8,
        RateLimited = 9,
        UnknownMachine = 10,
        ResponseUntrusted = 11,
        Refused = 12,
        Internal = 13,
    }

    /// <summary>How Check decides.</summary>
    public enum CheckMode : uint
    {
        /// <summary>From a verified lease until its signed recheck time, else online.</summary>
        Auto = 0,
        /// <summary>Online first, falling back to the lease.</summary>
        Refresh = 1,
        /// <summary>From the lease only; never touches the network.</summary>
        Offline = 2,
    }
}
