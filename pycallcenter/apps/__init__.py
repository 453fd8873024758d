"""Business rules on top of the engine: ACD, staffing, fax-on-demand, voicemail, the outbound dialler."""
