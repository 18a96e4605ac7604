using Omoikane.Cli;

return await CommandLine.RunAsync(args);
