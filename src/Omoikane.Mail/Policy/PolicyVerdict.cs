namespace Omoikane.Mail.Policy;

public enum PolicyVerdict { Accept, Reject, Defer }
