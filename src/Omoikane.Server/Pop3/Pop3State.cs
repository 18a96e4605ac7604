namespace Omoikane.Server.Pop3;

/// <summary>RFC 1939 §3: the states of a POP3 session.</summary>
public enum Pop3State { Authorization, Transaction, Update }
