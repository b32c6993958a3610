// App target: configuration and service composition (filled next).
